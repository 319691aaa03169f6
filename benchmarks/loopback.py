"""A loopback message receiver (its own process) and a surveybot channel that sends to it.

The receiver is a minimal HTTP/1.1 keep-alive server on raw asyncio: `POST /messages` answers 201
with a provider id, `GET /count` answers how many messages arrived. It costs little CPU, so the
benchmark measures the sender, not the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import aiohttp

from channels.base import OutboundMessage, SendResult, TransientSendError


class _Receiver(asyncio.Protocol):
    received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            if head.startswith("POST"):
                _Receiver.received += 1
                body = b'{"id": "LB%d"}' % _Receiver.received
                status = b"201 Created"
            else:
                body = b'{"count": %d}' % _Receiver.received
                status = b"200 OK"
            self.transport.write(
                b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, len(body), body)
            )


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


class LoopbackChannel:
    """A surveybot channel that POSTs each message to the loopback receiver."""

    def __init__(self, name: str, url: str, connections: int) -> None:
        self.name = name
        self._url = f"{url}/messages"
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, message: OutboundMessage) -> SendResult:
        assert self._session is not None
        return SendResult(
            provider_message_id=await post(self._session, self._url, message.address, message.text)
        )


async def post(session: aiohttp.ClientSession, url: str, to: str, text: str) -> str:
    """Send one message to the receiver; its provider id."""
    try:
        async with session.post(url, json={"to": to, "text": text}) as reply:
            if reply.status != 201:
                raise TransientSendError(f"receiver answered {reply.status}")
            answer: dict[str, Any] = json.loads(await reply.read())
            return str(answer["id"])
    except aiohttp.ClientError as exc:
        raise TransientSendError(str(exc)) from exc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
