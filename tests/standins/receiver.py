"""A loopback webhook receiver: records every POST, checks its signature, answers as scripted.

`answers` is a queue of statuses (with optional headers) answered in order before falling back
to `default`; a request is recorded with its headers, body, whether its signature verified (by
the documented scheme: HMAC-SHA256 of "<timestamp>.<body>" with the secret) and what it got.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standins.serving import LoopbackServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers.get("X-Surveybot-Event-Id", "")


def signed(secret: str, stamp: str, body: bytes, given: str) -> bool:
    """Whether `given` is the documented signature of `body` sent at `stamp`."""
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(given, "sha256=" + digest.hexdigest())


@dataclass
class PostServer(LoopbackServer):
    """An aiohttp server answering POST /<anything> on 127.0.0.1 and a free port with
    `_handle`; `url` is set once it listens."""

    url: str = ""

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        runner: web.AppRunner | None = getattr(self, "_runner", None)
        if runner is not None:
            await runner.cleanup()


@dataclass
class Receiver(PostServer):
    """Records every POST, checks its signature, answers as scripted."""

    secret: str = "receiver-secret-0123456789"
    default: int = 200
    delay: float = 0.0
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    thread_name = "receiver"

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()

    def script(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer these statuses first, in order."""
        with self._lock:
            self.answers.extend((status, headers or {}) for status in statuses)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        stamp = headers.get("X-Surveybot-Timestamp", "")
        return signed(self.secret, stamp, body, headers.get("X-Surveybot-Signature", ""))

    def events(self) -> list[str]:
        with self._lock:
            return [r.event_id for r in self.received]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            status, extra = self.answers.popleft() if self.answers else (self.default, {})
            self.received.append(
                Received(request.path, headers, body, self.verify(headers, body), status)
            )
        return web.Response(status=status, text="ok" if status < 300 else "no", headers=extra)
