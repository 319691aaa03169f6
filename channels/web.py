"""The web chat channel: signed, expiring chat links, and a collecting sender.

A web "send" only makes the question visible on the chat page (the transcript lives in the
database), so the channel records what it was asked to send; the same class is the test fake.
"""

from __future__ import annotations

import uuid
from collections import deque
from importlib.resources import files

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from channels.base import OutboundMessage, SendResult

ASSETS = files("channels") / "webchat"
_LINK_SALT = "surveybot.webchat.link"


class InvalidLink(Exception):
    """Raised when a chat token is tampered with, malformed or past its age."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class ChatLinks:
    """Signs conversation ids into URL-safe tokens and reads them back."""

    def __init__(self, *, secret: str, base_url: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_LINK_SALT)
        self._base_url = base_url.rstrip("/")

    def token(self, conversation_id: str) -> str:
        return self._serializer.dumps(conversation_id)

    def url(self, conversation_id: str) -> str:
        return f"{self._base_url}/s/{self.token(conversation_id)}"

    def open(self, token: str, *, max_age_seconds: int) -> str:
        """The conversation id inside a token, or InvalidLink."""
        try:
            value = self._serializer.loads(token, max_age=max_age_seconds)
        except SignatureExpired as exc:
            raise InvalidLink("the link has expired", expired=True) from exc
        except BadSignature as exc:
            raise InvalidLink("the link is not valid") from exc
        if not isinstance(value, str):
            raise InvalidLink("the link is not valid")
        return value


class WebChannel:
    """Collects what it is asked to send; the chat page reads the stored transcript."""

    name = "web"

    def __init__(self, *, keep: int = 1000) -> None:
        self.sent: deque[OutboundMessage] = deque(maxlen=keep)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(provider_message_id=f"web-{uuid.uuid4().hex}")


def asset(name: str) -> bytes:
    """One of the chat page's static files."""
    return (ASSETS / name).read_bytes()
