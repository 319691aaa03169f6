"""A real SMTP server (aiosmtpd) on loopback that records messages and can refuse the next RCPT."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    # aiosmtpd's start-up check connects to the port it was given, so port 0 cannot be used.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    """aiosmtpd hooks; they run on the server's own thread and event loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refusals: list[str] = []  # replies for the next RCPT commands, first in first out
        self.refused: list[tuple[str, str]] = []  # (address, reply) of every refused RCPT

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            reply = self.refusals.pop(0) if self.refusals else None
            if reply is not None:
                self.refused.append((address, reply))
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        item = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(data))
        with self.lock:
            self.received.append(item)
        return "250 Message accepted for delivery"


class SmtpStandIn:
    """The server; `messages` is what arrived, `refuse_next_rcpt` makes the next RCPT fail.

    With `login=(user, password)` it offers AUTH (without TLS, as a loopback test may) and
    accepts only that pair.
    """

    def __init__(self, port: int | None = None, *, login: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._handler = _Handler()
        self._login = login
        auth: dict[str, Any] = (
            {"authenticator": self._authenticate, "auth_require_tls": False} if login else {}
        )
        self._controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            loop=asyncio.new_event_loop(),
            server_hostname="smtp.standin.test",  # no getfqdn() look-up in the greeting
            **auth,
        )

    def settings(self) -> dict[str, str]:
        """The SURVEYBOT_* settings that point a surveybot process at this server."""
        return {
            "SURVEYBOT_SMTP_HOST": self.host,
            "SURVEYBOT_SMTP_PORT": str(self.port),
            "SURVEYBOT_SMTP_TLS": "none",
            "SURVEYBOT_SMTP_FROM": "surveys@example.com",
        }

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._login is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._login
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
        self._controller.loop.close()

    @property
    def messages(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def refused(self) -> list[tuple[str, str]]:
        with self._handler.lock:
            return list(self._handler.refused)

    def refuse_next_rcpt(self, code: int = 550) -> None:
        """Answer the next RCPT with 550 (no such mailbox) or 451 (try again later)."""
        replies = {
            550: "550 5.1.1 No such user here",
            451: "451 4.3.0 Temporary failure, try again later",
        }
        with self._handler.lock:
            self._handler.refusals.append(replies.get(code, f"{code} Refused"))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` messages arrived (for sync tests); fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
            time.sleep(0.05)
        return self.messages

    async def wait_for_async(self, count: int, within: float = 10.0) -> list[Received]:
        """Poll until `count` messages arrived (for async tests); fails after `within` s."""
        deadline = time.monotonic() + within
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
            await asyncio.sleep(0.05)
        return self.messages


@contextmanager
def smtp_standin(*, login: tuple[str, str] | None = None) -> Iterator[SmtpStandIn]:
    server = SmtpStandIn(login=login)
    server.start()
    try:
        yield server
    finally:
        server.stop()
