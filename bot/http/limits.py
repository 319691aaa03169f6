"""What a request may carry before any route sees it: a bounded body, and no NUL in its URL.

The body cap is ASGI middleware in front of the app: a declared Content-Length over the cap is
refused before the app runs, and a chunked body is counted as it streams in and refused as soon
as it passes the cap. Both answer 413 with the usual `{"detail", "field"}` and close the
connection, so the unread rest of the body is never taken in.

Starlette's RequestBodyLimitMiddleware, which FastAPI's `max_body_size` installs (app-wide, per
router or per route), does the chunked half as well (an exception handler for its 413 can give
it our shape), but not the declared one (tried on this app with starlette 1.10, fastapi 0.165,
test_limits.py and the e2e test):
- it looks at a declared length only when the app first reads the body or starts its answer, so
  the route runs up to there; a route that takes no body runs to its end, with whatever it
  changes, and only then is its answer replaced;
- the replacement is its own plain-text "Content Too Large", sent from inside `send`, where no
  exception handler can reach it: the `{"detail", "field"}` answer is lost;
- it does not close the connection, so uvicorn reads and discards the rest: the e2e test's
  200 MB bodies with a declared length were taken whole (here: under 5 MB);
- it stops the app with a private exception raised up through our middleware, which
  `errors.InternalErrors` logs as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.contacts.text import UNSTORABLE_MESSAGE
from bot.errors import NotFound, PayloadTooLarge
from bot.http.errors import AsciiJSONResponse, answer

KIB = 1024
# Public routes (web chat, rating pages, provider and help-desk webhooks): a chat message, an
# SMS form or a Telegram update is a few KiB at most.
PUBLIC_MAX_BODY = 64 * KIB
# The API (surveys with many translations, campaigns, contacts, triggers).
API_MAX_BODY = 1024 * KIB
API_PREFIX = "/api/"


def body_limit(path: str) -> int:
    """The largest body, in bytes, that a route under `path` takes."""
    return API_MAX_BODY if path.startswith(API_PREFIX) else PUBLIC_MAX_BODY


def _size(limit: int) -> str:
    return f"{limit // (1024 * KIB)} MiB" if limit >= 1024 * KIB else f"{limit // KIB} KiB"


class _TooLarge(Exception):
    """Raised from `receive` when a streamed body passes the cap."""


@dataclass(slots=True)
class BodyLimit:
    """ASGI middleware: 413 for a body larger than its route takes, read no further than that."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the broken read, the answer is the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    refusal = PayloadTooLarge(
        f"the request body is larger than {_size(limit)}, the most this route takes",
        field="body",
        # The rest of the body is not read: the connection cannot be used again.
        headers={"Connection": "close"},
    )
    await answer(refusal)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


@dataclass(slots=True)
class UrlCheck:
    """ASGI middleware: no NUL character in the path (404) or a query parameter (422).

    No route has a use for one, and PostgreSQL cannot compare text with it: refusing it here
    covers every path and query parameter, of the routes there are and those to come. Nothing
    is named with a NUL, so such a path is not found; a query parameter is refused the way
    FastAPI refuses any invalid one, naming it.
    """

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _nul_in_url(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_in_url(scope: Scope) -> Response | None:
    if "\x00" in scope["path"]:
        return answer(NotFound("nothing here has a NUL character in its path", field="path"))
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            error = {"type": "string_unstorable", "loc": ["query", name], "msg": UNSTORABLE_MESSAGE}
            return AsciiJSONResponse({"detail": [error]}, status_code=422)
    return None
