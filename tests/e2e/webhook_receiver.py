"""A loopback webhook receiver for the e2e tests: slow on demand, scripted per path, and keeping,
for every request, when it arrived, when it was answered and which client port sent it.

That is what tells which deliveries were in flight when a process was killed: the requests from
that process's sockets that had arrived and were not answered yet. Signatures are checked by
the documented scheme (HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.standins.receiver import PostServer, signed


@dataclass
class Request:
    path: str
    event_id: str
    body: bytes
    verified: bool
    peer_port: int
    arrived: float  # time.monotonic()
    answered: float | None = None
    status: int | None = None


@dataclass
class SlowReceiver(PostServer):
    """POST /<path>: waits `delay` seconds, then answers the path's next scripted status (or
    `default`); every request is kept in `requests`."""

    secret: str = "e2e-webhook-secret-0123456789"
    delay: float = 0.0
    default: int = 200
    scripts: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    thread_name = "webhook-receiver"

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()

    def script(self, path: str, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer these statuses to POST `path` first, in order."""
        with self._lock:
            queue = self.scripts.setdefault(path, deque())
            queue.extend((status, headers or {}) for status in statuses)

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def verify(self, stamp: str, signature: str, body: bytes) -> bool:
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return False
        return signed(self.secret, stamp, body, signature)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = Request(
            path=request.path,
            event_id=request.headers.get("X-Surveybot-Event-Id", ""),
            body=body,
            verified=self.verify(
                request.headers.get("X-Surveybot-Timestamp", ""),
                request.headers.get("X-Surveybot-Signature", ""),
                body,
            ),
            peer_port=int(peer[1]) if peer else 0,
            arrived=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            queue = self.scripts.get(request.path)
            status, headers = queue.popleft() if queue else (self.default, {})
            record.status, record.answered = status, time.monotonic()
        return web.Response(status=status, text="ok" if status < 300 else "no", headers=headers)


def local_tcp_ports(pid: int) -> set[int]:
    """The local ports of a process's TCP sockets (Linux: its fds' inodes in /proc/net/tcp*)."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
