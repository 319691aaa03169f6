"""NUL and lone surrogates sent to every route that takes text: never a 500, on both databases.

A caller's data is refused (422 naming the field, 404 for a path); a customer's message (web
chat, SMS, Telegram) is stored without those characters, and the answer counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bot.invitations.helpdesk import generic_signature, zendesk_signature
from bot.runtime.services import Services
from bot.wiring.email_links import EmailLinks
from channels.telegram import RateLimiter, TelegramChannel
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.telegram_api import BotApiStandIn
from tests.standins.telegram_api import text_update as telegram_text
from tests.standins.twilio_api import inbound_sms, sign, status_callback
from tests.support import ScriptedChannel, response

NUL, SURROGATE = "\x00", "\ud800"
BAD = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="surrogate")]
TOKEN, SECRET, CHAT = "123456:TEST", "s3cret-token-0123456789", 4242
ACCOUNT, TWILIO_TOKEN = "AC" + "0123456789abcdef" * 2, "twilio-auth-token-for-tests"
SENDER, PHONE = "+15005550006", "+14155550123"
DESK_SECRET, ZENDESK_SECRET = "desk-secret-0123456789", "zendesk-secret-0123456789"
SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did we do?"}
CAMPAIGN = {"name": "q", "survey": "support-csat", "every_months": 3}
ADDRESSES = {
    "sms": {"phone": PHONE},
    "telegram": {"telegram_chat_id": str(CHAT)},
    "email": {"email": "ana@example.com"},
}
JSON = {"Content-Type": "application/json"}


@dataclass
class Env:
    client: httpx.AsyncClient
    services: Services
    telegram: BotApiStandIn

    async def json(self, method: str, path: str, body: Any) -> httpx.Response:
        # json.dumps writes a lone surrogate as the escape "\ud800", as a client's JSON would.
        raw = json.dumps(body).encode()
        return await self.client.request(method, path, content=raw, headers=JSON)

    async def link(self, external_id: str, channel: str = "web") -> str:
        contact: dict[str, Any] = {"external_id": external_id, "locale": "en"}
        contact |= ADDRESSES.get(channel, {})
        body = {"survey": "support-csat", "channel": channel, "contact": contact}
        reply = await self.client.post("/api/v1/triggers", json=body)
        assert reply.status_code == 202, reply.text
        await self.services.outbox.send_due()
        return str(reply.json()["invitation_id"])

    def token(self, invitation_id: str) -> str:
        return self.services.links.url(invitation_id).rsplit("/", 1)[1]

    async def signed_event(self, body: Any) -> httpx.Response:
        raw = json.dumps(body).encode()
        stamp = str(int(self.services.clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Surveybot-Timestamp": stamp,
            "X-Surveybot-Signature": generic_signature(DESK_SECRET, stamp, raw),
        }
        return await self.client.post("/webhooks/events/desk", content=raw, headers=headers)

    async def signed_zendesk(self, body: Any) -> httpx.Response:
        raw = json.dumps(body).encode()
        stamp = self.services.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": zendesk_signature(ZENDESK_SECRET, stamp, raw),
        }
        return await self.client.post("/webhooks/zendesk", content=raw, headers=headers)

    async def signed_twilio(self, path: str, form: dict[str, str]) -> httpx.Response:
        signature = sign(TWILIO_TOKEN, "http://chat.example.test" + path, form)
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
async def env(database_url: str, clock: FakeClock) -> AsyncIterator[Env]:
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    async with BotApiStandIn() as telegram:
        settings = make_settings(
            database_url,
            telegram_bot_token=TOKEN,
            telegram_api_base=telegram.url,
            telegram_webhook_secret=SECRET,
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TWILIO_TOKEN,
            twilio_from_number=SENDER,
            sms_rate_per_second=0,
            smtp_host="127.0.0.1",
            smtp_from="surveys@example.test",
            webhook_secrets={"desk": DESK_SECRET},
            zendesk_webhook_secret=ZENDESK_SECRET,
            helpdesk_survey="support-csat",
        )
        channels = {
            "telegram": TelegramChannel(
                token=TOKEN, api_base=telegram.url, limiter=RateLimiter(per_chat_burst=20)
            ),
            "sms": ScriptedChannel(),
            "email": ScriptedChannel(prefix="EM"),
        }
        async with app_client(settings, clock, channels=channels) as (client, services):
            assert (await client.post("/api/v1/surveys", json=SURVEY)).status_code == 201
            yield Env(client, services, telegram)


Request = Callable[[Env, str], Awaitable[httpx.Response]]


def _contact(**fields: Any) -> dict[str, Any]:
    return {"external_id": "c1", **fields}


def _trigger(**fields: Any) -> dict[str, Any]:
    return {"survey": "support-csat", "contact": {"external_id": "c1"}, **fields}


# (what is sent, the field the 422 names): every text field of every JSON body of the API.
BODIES: list[tuple[str, Callable[[str], Any], tuple[str | int, ...]]] = [
    ("/api/v1/surveys", lambda b: {**SURVEY, "key": f"k{b}"}, ("key",)),
    ("/api/v1/surveys", lambda b: {**SURVEY, "question": f"How{b}?"}, ("question",)),
    ("/api/v1/surveys", lambda b: {**SURVEY, "reasons": ["ok", b]}, ("reasons", 1)),
    ("/api/v1/contacts", lambda b: _contact(external_id=f"c{b}"), ("external_id",)),
    ("/api/v1/contacts", lambda b: _contact(name=f"Ana{b}"), ("name",)),
    ("/api/v1/contacts", lambda b: _contact(email=f"a{b}@example.com"), ("email",)),
    ("/api/v1/contacts", lambda b: _contact(phone=f"+1415{b}5550123"), ("phone",)),
    ("/api/v1/contacts", lambda b: _contact(locale=f"en{b}"), ("locale",)),
    ("/api/v1/contacts", lambda b: _contact(timezone=f"Europe/Helsinki{b}"), ("timezone",)),
    ("/api/v1/contacts", lambda b: _contact(telegram_chat_id=f"42{b}"), ("telegram_chat_id",)),
    ("/api/v1/contacts", lambda b: _contact(properties={"plan": f"pro{b}"}), ("properties",)),
    ("/api/v1/contacts", lambda b: _contact(properties={f"plan{b}": 1}), ("properties",)),
    ("/api/v1/triggers", lambda b: _trigger(survey=f"support{b}"), ("survey",)),
    ("/api/v1/triggers", lambda b: _trigger(idempotency_key=f"k{b}"), ("idempotency_key",)),
    ("/api/v1/triggers", lambda b: _trigger(properties={"agent": f"Ana{b}"}), ("properties",)),
    ("/api/v1/triggers", lambda b: _trigger(contact=_contact(name=b)), ("contact", "name")),
    ("/api/v1/triggers", lambda b: _trigger(channel=f"web{b}"), ("channel",)),
    ("/api/v1/campaigns", lambda b: {**CAMPAIGN, "name": f"q{b}"}, ("name",)),
    ("/api/v1/campaigns", lambda b: {**CAMPAIGN, "survey": f"s{b}"}, ("survey",)),
    ("/api/v1/campaigns", lambda b: {**CAMPAIGN, "audience": f"plan = 'a{b}'"}, ("audience",)),
    ("/api/v1/campaigns", lambda b: {**CAMPAIGN, "timezone": f"UTC{b}"}, ("timezone",)),
    ("/api/v1/apikeys", lambda b: {"name": f"desk{b}"}, ("name",)),
]


@pytest.mark.parametrize("bad", BAD)
async def test_api_bodies_refuse_it_naming_the_field(env: Env, bad: str) -> None:
    for path, body, field in BODIES:
        reply = await env.json("POST", path, body(bad))
        assert reply.status_code == 422, (path, body(bad), reply.text)
        assert tuple(reply.json()["detail"][0]["loc"][1:])[: len(field)] == field, reply.text
    reply = await env.json("PUT", "/api/v1/campaigns/q", {**CAMPAIGN, "audience": f"x{bad}"})
    assert reply.status_code == 422, reply.text
    # The webhooks' bodies: signed, then refused (pydantic's own JSON parser already refuses
    # a lone surrogate's escape, as invalid JSON).
    event = await env.signed_event(_trigger(contact=_contact(name=f"Ana{bad}")))
    assert event.status_code == 422, event.text
    assert event.json()["detail"][0]["loc"][-1] == ("name" if bad == NUL else "body")
    ticket = {"ticket": {"id": 1, "status": "solved"}, "requester": {"id": 2, "name": bad}}
    assert (await env.signed_zendesk(ticket)).status_code in (202, 422)
    async with UnitOfWork(env.services.sessions) as uow:
        assert await uow.contacts.get_by_external_id("c1") is None  # nothing was stored


async def test_urls_refuse_nul_in_a_path_or_a_query_parameter(env: Env) -> None:
    nul = quote(NUL)
    paths = [
        f"/api/v1/surveys/{nul}",
        f"/api/v1/surveys/{nul}/scores",
        f"/api/v1/contacts/{nul}",
        f"/api/v1/contacts/{nul}/telegram-link",
        f"/api/v1/campaigns/{nul}",
        f"/api/v1/campaigns/{nul}/runs",
        f"/api/v1/invitations/{nul}",
        f"/s/{nul}",
        f"/s/{nul}/state",
        f"/r/{nul}",
        f"/u/{nul}",
    ]
    for path in paths:
        reply = await env.client.get(path)
        assert (reply.status_code, reply.json()["field"]) == (404, "path"), path
    for method, path in [
        ("DELETE", f"/api/v1/invitations/{nul}"),
        ("DELETE", f"/api/v1/contacts/{nul}/invitations"),
        ("POST", f"/api/v1/campaigns/{nul}/pause"),
        ("POST", f"/webhooks/events/{nul}"),
    ]:
        assert (await env.client.request(method, path)).status_code == 404, path
    queries = [
        ("/api/v1/responses", {"survey": NUL}),
        ("/api/v1/responses", {"survey": "support-csat", "from": f"2026{NUL}"}),
        ("/api/v1/surveys/support-csat/scores", {"group_by": f"plan{NUL}"}),
        ("/api/v1/surveys/support-csat/scores", {"to": NUL}),
        ("/api/v1/invitations", {"idempotency_key": f"k{NUL}"}),
        ("/r/anything", {"score": f"4{NUL}"}),
    ]
    for path, params in queries:
        method = "DELETE" if path == "/api/v1/invitations" else "GET"
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        reply = await env.client.request(method, f"{path}?{query}")
        assert reply.status_code == 422, (path, reply.text)
        [error] = reply.json()["detail"]
        assert error["loc"][0] == "query" and error["loc"][1] in params, reply.text


@pytest.mark.parametrize("bad", BAD)
async def test_a_customers_message_keeps_its_answer_on_every_channel(env: Env, bad: str) -> None:
    # Web chat: the page posts the text as JSON.
    web = await env.link("w1")
    sent = {"text": f"4{bad} great", "client_message_id": "m1"}
    reply = await env.json("POST", f"/s/{env.token(web)}/messages", sent)
    assert reply.status_code == 200, reply.text
    said = [m["text"] for m in reply.json()["messages"] if m["direction"] == "in"]
    assert said == ["4 great"]
    # SMS: Twilio posts a form, where a NUL is %00 (a surrogate has no UTF-8 to encode).
    sms = await env.link("s1", "sms")
    form = inbound_sms(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body=f"5{NUL}", sid=f"SM{NUL}")
    assert (await env.signed_twilio("/webhooks/twilio/sms", form)).status_code == 200
    status = status_callback(
        account_sid=ACCOUNT, sid=f"SM1{NUL}", status="delivered", to=PHONE, from_=SENDER
    )
    assert (await env.signed_twilio("/webhooks/twilio/status", status)).status_code == 204
    # Telegram: an update is JSON, where a surrogate can be written as an escape.
    telegram = await env.link("t1", "telegram")
    update = await env.client.post(
        "/webhooks/telegram",
        content=json.dumps(telegram_text(77, CHAT, f"3{bad}")).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert update.status_code == 200, update.text
    for invitation_id, score in ((web, 4), (sms, 5), (telegram, 3)):
        stored = await response(env.services, invitation_id)
        assert stored is not None and stored.score == score, invitation_id


async def test_a_rating_link_with_a_huge_score_is_a_page_not_a_500(env: Env) -> None:
    invitation_id = await env.link("e1", "email")
    rate = EmailLinks(secret=env.services.secret, base_url="http://test").rate_token(invitation_id)
    for score in ("4" * 4400, "9" * 20, "²", "-1", ""):
        page = await env.client.get(f"/r/{rate}", params={"score": score})
        assert page.status_code == 404, score[:8]
        assert page.headers["content-type"].startswith("text/html")
        posted = await env.client.post(f"/r/{rate}", data={"score": score})
        assert posted.status_code in (404, 413), score[:8]  # the rating form takes 4 KiB
    for raw in (b'{"score": 1e999}', b'{"score": ' + b"4" * 4000 + b"}"):
        as_json = await env.client.post(f"/r/{rate}", content=raw, headers=JSON)
        assert as_json.status_code == 404, as_json.text
    assert (await env.client.get(f"/r/{rate}", params={"score": "4"})).status_code == 200
