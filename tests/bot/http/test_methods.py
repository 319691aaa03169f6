"""A method a path does not take is a 405 whose `Allow` lists every method the path does take,
whichever router the path's routes were written in."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/api/v1/surveys", "GET, HEAD, POST"),
        ("PUT", "/api/v1/surveys/support-csat/scores", "GET, HEAD"),
        ("PATCH", "/api/v1/webhooks/wh_1", "DELETE, GET, HEAD"),
        ("DELETE", "/api/v1/campaigns", "GET, HEAD, POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/dashboard", "GET, HEAD"),
    ],
)
async def test_405_lists_what_the_path_takes(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    reply = await api.request(method, path)
    assert reply.status_code == 405
    assert reply.headers["allow"] == allow
    assert reply.json()["detail"] == f"{method} is not allowed here; allowed: {allow}"
