"""Per-request context that validators read: the region national phone numbers are in."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.contacts.schemas import phone_region


@dataclass(slots=True)
class PhoneRegion:
    """ASGI middleware: bodies validated in a request read national numbers as `region`'s.

    FastAPI validates a body before the route runs and passes no context to pydantic, so the
    setting reaches `ContactIn` through a context variable set around each request.
    """

    app: ASGIApp
    region: str

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with phone_region(self.region):
            await self.app(scope, receive, send)
