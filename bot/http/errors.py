"""Refusals as answers: every `bot.errors.ServiceError` becomes its status and body here, once."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.contacts.text import UNSTORABLE_MESSAGE, unstorable_at
from bot.errors import ServiceError

log = logging.getLogger("bot.http")


def answer(exc: ServiceError) -> Response:
    """The HTTP answer to a refusal: its page, or JSON `{"detail", "field"}` (plus extras)."""
    if exc.page is not None:
        return HTMLResponse(exc.page, status_code=exc.status, headers=exc.headers)
    body: dict[str, Any] = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    body.update(exc.extra)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def install(app: FastAPI) -> None:
    """Answer every ServiceError a route lets through."""

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> Response:
        return answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer, written as ASCII: an echoed input holding a lone surrogate
        # (a JSON "\ud800") has no UTF-8 and would turn the 422 into a 500.
        return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


def refuse_unstorable(value: Any, loc: tuple[str | int, ...] = ("body",)) -> None:
    """A 422 naming the place of the first string in `value` (decoded JSON) no database stores.

    For bodies whose model is not ours to give the `Text` type (a survey definition).
    """
    found = unstorable_at(value, loc)
    if found is not None:
        error = {"type": "string_unstorable", "loc": found, "msg": UNSTORABLE_MESSAGE}
        raise RequestValidationError([error])


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so that any Python string can be sent."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


@dataclass(slots=True)
class InternalErrors:
    """ASGI middleware: an unexpected exception answers 500 JSON and is logged without data.

    The messages of database errors quote the values that caused them (asyncpg quotes a bad
    argument; SQLAlchemy adds the bound parameters unless told not to), which are phone numbers
    and message texts: the log gets the exception types, where they were raised and an error
    id the answer repeats, never a message, a body or a parameter.
    """

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            route = getattr(scope.get("route"), "path", None) or "an unmatched path"
            log.error("error %s: %s %s failed\n%s", error_id, scope["method"], route, describe(exc))
            if not started:
                refusal = JSONResponse(
                    {"detail": f"internal error {error_id}: it was logged; please try again"},
                    status_code=500,
                )
                await refusal(scope, receive, send)


def describe(exc: BaseException) -> str:
    """An exception and its causes as types and stack frames, without their messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        kind = type(current)
        # A statement is SQL with placeholders: it says which query failed, with no values.
        statement = getattr(current, "statement", None)
        sql = f" in SQL: {' '.join(statement.split())[:300]}" if isinstance(statement, str) else ""
        parts.append(f"{kind.__module__}.{kind.__qualname__}{sql}\n{frames}")
        current = current.__cause__ or current.__context__
    return "caused by ".join(parts).rstrip()
