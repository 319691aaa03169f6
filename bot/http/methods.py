"""405 answers that list every method the path takes, not just those of the first route found."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method the routes matching this request's path accept (HEAD beside GET)."""
    methods: set[str] = set()
    for route in app.router.routes:
        if not isinstance(route, Route) or route.methods is None:
            continue
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= route.methods
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
