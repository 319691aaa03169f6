"""405 answers that list every method the path takes, not just those of the first route found."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route


def _routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """Every route with the prefix it is included under (FastAPI keeps included routers as
    wrappers around the router as written, so their routes are one level down)."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(original.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, Route) and route.methods is not None:
            yield prefix, route


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method the routes matching this request's path accept (HEAD beside GET)."""
    methods: set[str] = set()
    path = request.scope["path"]
    for prefix, route in _routes(app.router.routes):
        if prefix and not path.startswith(prefix):
            continue
        scope = {**request.scope, "path": path[len(prefix) :]} if prefix else request.scope
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Answer 405 with the path's whole `Allow` list; other HTTP errors as FastAPI does."""

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        allow = ", ".join(allowed_methods(app, request))
        return JSONResponse(
            {"detail": f"{request.method} is not allowed here; allowed: {allow}"},
            status_code=405,
            headers={"Allow": allow},
        )
