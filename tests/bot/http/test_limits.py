"""Request limits in front of every route: body caps (413, read no further) and NUL in URLs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from bot.http.limits import API_MAX_BODY, PUBLIC_MAX_BODY, BodyLimit, UrlCheck, body_limit
from tests.conftest import FakeClock, app_client, make_settings

CHUNK = 16 * 1024
JSON = {"Content-Type": "application/json"}


async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    """A route that reads the whole body first, as Starlette and FastAPI do."""
    body = await Request(scope, receive).body()
    await PlainTextResponse(f"read {len(body)}")(scope, receive, send)


class Client:
    """Drives an ASGI app by hand and counts how much of the body it pulled."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pulled = 0
        self.headers: dict[bytes, bytes] = {}

    async def post(self, path: str, *, size: int, declare: bool) -> tuple[int, dict[str, Any]]:
        headers = [(b"content-length", str(size).encode())] if declare else []
        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
        }
        left = size

        async def receive() -> Message:
            nonlocal left
            chunk = min(CHUNK, left)
            left -= chunk
            self.pulled += chunk
            return {"type": "http.request", "body": b"a" * chunk, "more_body": left > 0}

        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        self.headers = dict(start.get("headers", []))
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], (json.loads(body) if start["status"] == 413 else {})


def test_the_api_takes_more_than_the_public_routes() -> None:
    assert body_limit("/api/v1/surveys") == API_MAX_BODY == 1024 * 1024
    for path in ("/s/t/messages", "/webhooks/twilio/sms", "/webhooks/telegram", "/r/t", "/"):
        assert body_limit(path) == PUBLIC_MAX_BODY == 64 * 1024


async def test_a_declared_length_over_the_cap_is_refused_before_a_byte_is_read() -> None:
    client = Client(BodyLimit(reads_everything))
    status, body = await client.post("/s/t/messages", size=200 * 1024 * 1024, declare=True)
    assert (status, client.pulled) == (413, 0)
    assert body == {
        "detail": "the request body is larger than 64 KiB, the most this route takes",
        "field": "body",
    }


async def test_a_route_that_reads_no_body_does_not_run_when_the_declared_length_is_over() -> None:
    # Starlette's RequestBodyLimitMiddleware lets such a route run to the end (whatever it
    # changes stays changed), then swaps its answer for a plain-text 413 without a close.
    ran: list[str] = []

    async def reads_nothing(scope: Scope, receive: Receive, send: Send) -> None:
        ran.append(scope["path"])
        await PlainTextResponse("done")(scope, receive, send)

    client = Client(BodyLimit(reads_nothing))
    status, body = await client.post("/api/v1/x", size=2 * API_MAX_BODY, declare=True)
    assert (status, body["field"], ran, client.pulled) == (413, "body", [], 0)
    assert client.headers[b"connection"] == b"close"  # the unread rest is not drained


@pytest.mark.parametrize(
    ("path", "cap"), [("/s/t/messages", PUBLIC_MAX_BODY), ("/api/v1/x", API_MAX_BODY)]
)
async def test_a_streamed_body_is_read_only_up_to_the_cap(path: str, cap: int) -> None:
    client = Client(BodyLimit(reads_everything))
    status, body = await client.post(path, size=200 * 1024 * 1024, declare=False)
    assert status == 413 and body["field"] == "body"
    assert cap < client.pulled <= cap + CHUNK


async def test_bodies_within_the_cap_reach_the_route() -> None:
    client = Client(BodyLimit(reads_everything))
    for declare in (True, False):
        assert (await client.post("/s/t/messages", size=PUBLIC_MAX_BODY, declare=declare))[0] == 200
        assert (await client.post("/api/v1/x", size=API_MAX_BODY, declare=declare))[0] == 200


async def _big(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // CHUNK):
        yield b"a" * CHUNK


async def test_the_app_answers_413_on_public_routes_before_token_or_signature(
    database_url: str, clock: FakeClock
) -> None:
    settings = make_settings(
        database_url,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="twilio-auth-token-for-tests",
        twilio_from_number="+15005550006",
        webhook_secrets={"crm": "crm-secret-0123456789"},
    )
    big = b'{"text": "' + b"5" * (PUBLIC_MAX_BODY + 10) + b'", "client_message_id": "m"}'
    async with app_client(settings, clock) as (api, _services):
        for path in ("/s/not-a-token/messages", "/webhooks/twilio/sms", "/webhooks/events/crm"):
            declared = await api.post(path, content=big, headers=JSON)
            streamed = await api.post(path, content=_big(4 * PUBLIC_MAX_BODY))
            for reply in (declared, streamed):
                assert reply.status_code == 413, (path, reply.text)
                assert reply.json()["field"] == "body"
        # The API takes up to 1 MiB: a big contact body is read (and refused for what it says).
        contact = {"external_id": "c1", "properties": {f"p{i}": "x" * 1000 for i in range(60)}}
        reply = await api.post("/api/v1/contacts", json=contact)
        assert reply.status_code == 422
        assert reply.json()["detail"][0]["loc"] == ["body", "properties"]
        assert (
            await api.post("/api/v1/contacts", content=_big(2 * API_MAX_BODY))
        ).status_code == 413


async def test_nul_in_a_url_is_refused_before_any_route() -> None:
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("reached the route")

    transport = httpx.ASGITransport(app=UrlCheck(route))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        path = await client.get("/api/v1/contacts/a%00b")
        assert (path.status_code, path.json()["field"]) == (404, "path")
        query = await client.get("/api/v1/responses?survey=s&from=2026%00")
        assert query.status_code == 422
        assert query.json()["detail"][0]["loc"] == ["query", "from"]
