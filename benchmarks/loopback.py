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
from bench_common import RawHttp

from channels.base import OutboundMessage, SendResult, TransientSendError


class _Receiver(RawHttp):
    received = 0

    def answer(
        self, request_line: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[bytes, bytes]:
        if request_line.startswith(b"POST"):
            _Receiver.received += 1
            return b"201 Created", b'{"id": "LB%d"}' % _Receiver.received
        return b"200 OK", b'{"count": %d}' % _Receiver.received


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
