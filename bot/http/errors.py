"""Refusals as answers: every `bot.errors.ServiceError` becomes its status and body here, once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.errors import ServiceError


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
