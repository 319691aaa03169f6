"""Telegram through aiogram's real session against the Bot API stand-in, and the real app."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlmodel import col

from bot.http.app import create_app
from bot.runtime.services import Services
from bot.wiring.telegram import WIRING
from channels.telegram import RateLimiter, TelegramChannel
from storage.models import Contact, Message, OptOut
from storage.uow import UnitOfWork
from surveys.texts import builtin
from tests.conftest import LIFESPAN_TIMEOUT, FakeClock, make_settings
from tests.standins.telegram_api import BotApiStandIn, Call, press_update
from tests.standins.telegram_api import text_update as standin_text

TOKEN = "123456:TEST"
SECRET = "s3cret-token-0123456789"
CHAT = 4242
CSAT = {
    "key": "support-csat",
    "metric": "csat",
    "reasons": ["Slow reply", "Problem not solved", "Unfriendly"],
}
NPS = {"key": "nps", "metric": "nps", "labels": {"low": "Not likely", "high": "Very likely"}}
_update_ids = itertools.count(1000)


@dataclass
class Env:
    client: httpx.AsyncClient
    services: Services
    api: BotApiStandIn
    clock: FakeClock

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def trigger(self, survey: str = "support-csat", **contact: Any) -> dict[str, Any]:
        contact = {"external_id": "c1", "telegram_chat_id": str(CHAT), "locale": "en", **contact}
        body = {"survey": survey, "channel": "telegram", "contact": contact}
        reply = await self.client.post("/api/v1/triggers", json=body)
        assert reply.status_code == 202, reply.text
        return dict(reply.json())

    def sent(self) -> list[Call]:
        return [c for c in self.api.calls("sendMessage") if c.status == 200]

    async def responses(self, survey: str = "support-csat") -> list[dict[str, Any]]:
        reply = await self.client.get("/api/v1/responses", params={"survey": survey})
        return list(reply.json()["data"])


def text_update(text: str, chat: int = CHAT, update_id: int | None = None) -> dict[str, Any]:
    return standin_text(update_id or next(_update_ids), chat, text)


def press(call: Call, label: str) -> dict[str, Any]:
    return press_update(next(_update_ids), call, label)


@pytest.fixture
async def env(database_url: str, clock: FakeClock) -> AsyncIterator[Env]:
    async with BotApiStandIn() as api:
        settings = make_settings(
            database_url,
            telegram_bot_token=TOKEN,
            telegram_api_base=api.url,
            telegram_webhook_secret=SECRET,
        )
        # The real adapter, with a roomier per-chat burst so quick test turns never wait.
        channel = TelegramChannel(
            token=TOKEN, api_base=api.url, limiter=RateLimiter(per_chat_burst=20)
        )
        app = create_app(
            settings, clock=clock, channels={"telegram": channel}, run_background=False
        )
        async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
            services: Services = app.state.services
            async with UnitOfWork(services.sessions) as uow:
                _, key = await uow.api_keys.create("tests")
                await uow.commit()
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://test",
                headers={"Authorization": f"Bearer {key}"},
            ) as client:
                for survey in (CSAT, NPS):
                    assert (await client.post("/api/v1/surveys", json=survey)).status_code == 201
                yield Env(client, services, api, clock)


async def count(env: Env, model: type[Any]) -> int:
    async with UnitOfWork(env.services.sessions) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()
        )


async def test_keyboards_for_scales_reasons_and_skip(env: Env) -> None:
    nps_id = (await env.trigger("nps", external_id="n1", telegram_chat_id="77"))["invitation_id"]
    csat_id = (await env.trigger())["invitation_id"]
    await env.services.outbox.send_due()
    by_chat = {c.fields["chat_id"]: c for c in env.sent()}
    nps = by_chat["77"]
    assert nps.buttons == [
        [(str(n), f"s:{n}:{nps_id}") for n in range(6)],
        [(str(n), f"s:{n}:{nps_id}") for n in range(6, 11)],
    ]
    assert nps.fields["text"].endswith("\n0 = Not likely … 10 = Very likely")
    csat = by_chat[str(CHAT)]
    assert csat.buttons == [[(str(n), f"s:{n}:{csat_id}") for n in range(1, 6)]]
    assert "Reply with a number" not in csat.fields["text"]  # the buttons say it

    await env.post(press(csat, "2"))  # a low score: the reasons follow
    reasons = env.sent()[-1]
    assert reasons.buttons == [
        [("Slow reply", "r:1")],
        [("Problem not solved", "r:2")],
        [("Unfriendly", "r:3")],
    ]
    await env.post(press(reasons, "Problem not solved"))
    assert env.api.calls("editMessageReplyMarkup")[-1].markup is None  # a reason: keyboard gone
    follow_up = env.sent()[-1]
    assert follow_up.buttons == [[("Skip", "c:Skip")]]  # the word, in the reader's language
    await env.post(press(follow_up, "Skip"))
    assert env.sent()[-1].fields["text"].startswith("Thank you for your feedback")
    assert env.sent()[-1].markup is None
    (stored,) = await env.responses()
    assert (stored["score"], stored["reason"], stored["comment"]) == (2, "Problem not solved", None)
    for call in env.sent():
        assert all(len(data.encode()) <= 64 for row in call.buttons for _, data in row)


async def test_press_is_acknowledged_marked_and_the_talk_goes_on(env: Env) -> None:
    await env.trigger("nps")
    await env.services.outbox.send_due()
    (question,) = env.sent()
    update = press(question, "9")
    assert (await env.post(update)).status_code == 200
    (answered,) = env.api.calls("answerCallbackQuery")
    assert answered.fields["callback_query_id"] == update["callback_query"]["id"]
    (edit,) = env.api.calls("editMessageReplyMarkup")
    assert edit.fields["message_id"] == str(question.result["message_id"])
    # Marked, not removed: the score may still change.
    assert edit.buttons[1][3] == ("✓ 9", question.data_for("9"))
    assert env.sent()[-1].fields["text"].startswith("Great to hear!")

    await env.post(press(question, "3"))  # changed their mind before commenting
    assert env.sent()[-1].fields["text"].startswith("We're sorry to hear that")
    assert env.api.calls("editMessageReplyMarkup")[-1].buttons[0][3][0] == "✓ 3"
    await env.post(text_update("Too slow"))
    assert env.sent()[-1].fields["text"].startswith("Thank you for being honest")
    (stored,) = await env.responses("nps")
    assert (stored["score"], stored["comment"], stored["channel"]) == (3, "Too slow", "telegram")


async def test_old_keyboard_never_answers_a_newer_survey(env: Env) -> None:
    await env.trigger("nps")
    await env.services.outbox.send_due()
    old = env.sent()[-1]
    await env.post(text_update("10 great"))
    env.clock.advance(days=40)
    await env.trigger("nps")
    await env.services.outbox.send_due()
    await env.post(press(old, "2"))
    assert env.sent()[-1].fields["text"] == "Thanks, we already have your answer."
    forged = press(old, "2")
    forged["callback_query"]["data"] = "s:2:" + "0" * 32
    await env.post(forged)
    assert [r["score"] for r in await env.responses("nps")] == [10]  # the new one is still open


async def test_redelivered_update_changes_nothing(env: Env) -> None:
    await env.trigger()
    await env.services.outbox.send_due()
    update = text_update("5 - quick and kind")
    for _ in range(2):
        assert (await env.post(update)).status_code == 200
    assert len(env.sent()) == 2  # the question and one thank-you
    assert [r["score"] for r in await env.responses()] == [5]
    question = env.sent()[0]
    pressed = press(question, "4")
    for _ in range(2):
        await env.post(pressed)
    assert len(env.sent()) == 3 and len(env.api.calls("editMessageReplyMarkup")) == 1


async def test_wrong_secret_is_refused_and_changes_nothing(env: Env) -> None:
    await env.trigger()
    await env.services.outbox.send_due()
    for secret in (None, "", SECRET[:-1], SECRET + "2"):
        reply = await env.post(text_update("5"), secret=secret)
        assert reply.status_code == 403
    assert await count(env, Message) == 1  # only the question
    assert len(env.api.calls()) == 1 and await env.responses() == []
    assert (
        await env.client.post(
            "/webhooks/telegram", content=b"{", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    ).status_code == 400


async def test_deep_link_links_the_chat(env: Env) -> None:
    await env.client.post("/api/v1/contacts", json={"external_id": "ana", "locale": "en"})
    await env.client.post("/api/v1/contacts", json={"external_id": "old", "telegram_chat_id": "55"})
    reply = await env.client.get("/api/v1/contacts/ana/telegram-link")
    assert reply.status_code == 200
    link = reply.json()["link"]
    assert link.startswith("https://t.me/surveybot_test_bot?start=")
    payload = parse_qs(urlsplit(link).query)["start"][0]
    assert len(payload) <= 64 and payload.replace("-", "").replace("_", "").isalnum()
    assert reply.json()["expires_at"].startswith("2026-11-09T12:00:00")

    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    await env.post(text_update(f"/start {tampered}", chat=55))
    assert "not valid" in env.sent()[-1].fields["text"]
    update = text_update(f"/start {payload}", chat=55)
    for _ in range(2):  # a redelivered /start links once and answers once
        await env.post(update)
    assert "now connected" in env.sent()[-1].fields["text"] and len(env.sent()) == 2
    async with UnitOfWork(env.services.sessions) as uow:
        ana = await uow.contacts.get_by_external_id("ana")
        old = await uow.contacts.get_by_external_id("old")
    assert ana is not None and ana.telegram_chat_id == "55"
    assert old is not None and old.telegram_chat_id is None  # one chat, one contact
    assert (await env.trigger(external_id="ana", telegram_chat_id=None))["channel"] == "telegram"

    env.clock.advance(days=8)
    await env.post(text_update(f"/start {payload}", chat=66))
    assert "expired" in env.sent()[-1].fields["text"]
    await env.post(text_update("/start", chat=66))
    assert "open the link" in env.sent()[-1].fields["text"]
    assert await count(env, Contact) == 2  # nothing linked to chat 66 or created
    assert (await env.client.get("/api/v1/contacts/nobody/telegram-link")).status_code == 404


async def test_a_forwarded_link_is_refused_in_a_second_chat_and_changes_nothing(env: Env) -> None:
    await env.client.post("/api/v1/contacts", json={"external_id": "ana", "locale": "en"})
    link = (await env.client.get("/api/v1/contacts/ana/telegram-link")).json()["link"]
    payload = parse_qs(urlsplit(link).query)["start"][0]
    await env.post(text_update(f"/start {payload}", chat=55))
    assert "now connected" in env.sent()[-1].fields["text"]

    await env.post(text_update(f"/start {payload}", chat=77))  # forwarded to someone else
    refusal = env.sent()[-1]
    assert refusal.fields["chat_id"] in (77, "77")
    assert refusal.fields["text"] == builtin("telegram.link_used", "en")
    async with UnitOfWork(env.services.sessions) as uow:
        ana = await uow.contacts.get_by_external_id("ana")
        intruder = await uow.contacts.by_address("telegram_chat_id", "77")
    assert ana is not None and ana.telegram_chat_id == "55"
    assert intruder is None

    await env.post(text_update(f"/start {payload}", chat=55))  # the same chat again: still fine
    assert "now connected" in env.sent()[-1].fields["text"]
    env.clock.advance(seconds=1)
    fresh = (await env.client.get("/api/v1/contacts/ana/telegram-link")).json()["link"]
    fresh_payload = parse_qs(urlsplit(fresh).query)["start"][0]
    assert fresh_payload != payload
    await env.post(text_update(f"/start {fresh_payload}", chat=77))  # a new link moves the chat
    assert "now connected" in env.sent()[-1].fields["text"]


async def test_stop_opts_out_and_the_next_trigger_is_skipped(env: Env) -> None:
    first = await env.trigger()
    await env.services.outbox.send_due()
    update = text_update("/stop")
    for _ in range(2):
        await env.post(update)
    assert len(env.sent()) == 2
    assert env.sent()[-1].fields["text"].startswith("You won't get any more surveys here")
    async with UnitOfWork(env.services.sessions) as uow:
        assert (await uow.invitations.get(first["invitation_id"])).status == "closed"  # type: ignore[union-attr]
    env.clock.advance(days=60)
    again = await env.trigger()
    assert (again["status"], again["reason"]) == ("skipped", "opted_out")
    await env.post(text_update("START"))  # typed, with no conversation open
    assert env.sent()[-1].fields["text"] == "You're subscribed to surveys again."
    assert await count(env, OptOut) == 0


async def test_stop_and_help_typed_with_no_conversation_open_work_as_on_sms(env: Env) -> None:
    await env.client.post(
        "/api/v1/contacts", json={"external_id": "c1", "telegram_chat_id": "4242"}
    )
    await env.post(text_update("HELP"))
    assert env.sent()[-1].fields["text"] == builtin("help", None)
    await env.post(text_update("STOP"))
    assert env.sent()[-1].fields["text"].startswith("You won't get any more surveys here")
    assert await count(env, OptOut) == 1
    await env.post(text_update("hello"))  # anything else outside a conversation: no answer
    assert len(env.sent()) == 2


async def test_stop_after_the_survey_is_done_leaves_it_as_it_is(env: Env) -> None:
    first = await env.trigger()
    await env.services.outbox.send_due()
    for answer in ("5", "Quick and kind"):
        await env.post(text_update(answer))
    await env.post(text_update("/stop"))
    async with UnitOfWork(env.services.sessions) as uow:
        done = await uow.invitations.get(first["invitation_id"])
    assert done is not None and (done.status, done.step) == ("completed", "done")
    assert await count(env, OptOut) == 1


async def test_stop_from_a_chat_nobody_linked_is_answered_and_changes_nothing(env: Env) -> None:
    await env.post(text_update("/stop", chat=999))
    assert env.sent()[-1].fields["text"].startswith("You won't get any more surveys here")
    assert await count(env, OptOut) == 0


async def test_429_waits_retry_after_and_sends_once(env: Env) -> None:
    env.api.fail(429, "Too Many Requests: retry after 3", retry_after=3)
    result = await env.trigger()
    await env.services.outbox.send_due()
    async with UnitOfWork(env.services.sessions) as uow:
        waiting = await uow.invitations.get(result["invitation_id"])
    assert waiting is not None and waiting.status == "scheduled"
    assert waiting.send_at == env.clock.now + timedelta(seconds=3)
    env.clock.advance(seconds=2)
    assert await env.services.outbox.send_due() == 0
    env.clock.advance(seconds=1)
    assert await env.services.outbox.send_due() == 1
    assert [c.status for c in env.api.calls("sendMessage")] == [429, 200]


async def test_403_suppresses_the_contact_without_retry(env: Env) -> None:
    env.api.fail(403, "Forbidden: bot was blocked by the user")
    result = await env.trigger()
    await env.services.outbox.send_due()
    env.clock.advance(hours=1)
    assert await env.services.outbox.send_due() == 0
    async with UnitOfWork(env.services.sessions) as uow:
        failed = await uow.invitations.get(result["invitation_id"])
        sources = (await uow.session.execute(select(col(OptOut.source)))).scalars().all()
    assert failed is not None and failed.status == "failed"
    assert list(sources) == ["provider"] and len(env.api.calls("sendMessage")) == 1
    env.clock.advance(days=60)
    assert (await env.trigger())["reason"] == "opted_out"


async def test_blocked_during_the_conversation_suppresses_too(env: Env) -> None:
    await env.trigger()
    await env.services.outbox.send_due()
    env.api.fail(403, "Forbidden: bot was blocked by the user")
    assert (await env.post(text_update("4 fine"))).status_code == 200
    assert [r["score"] for r in await env.responses()] == [4]  # the answer is kept
    async with UnitOfWork(env.services.sessions) as uow:
        sources = (await uow.session.execute(select(col(OptOut.source)))).scalars().all()
    assert list(sources) == ["provider"]


async def test_best_channel_is_telegram_when_linked(env: Env) -> None:
    body = {"survey": "support-csat", "contact": {"external_id": "t1", "telegram_chat_id": "9"}}
    assert (await env.client.post("/api/v1/triggers", json=body)).json()["channel"] == "telegram"
    body = {"survey": "support-csat", "contact": {"external_id": "w1"}}
    assert (await env.client.post("/api/v1/triggers", json=body)).json()["channel"] == "web"


async def test_webhook_and_polling_registration(env: Env) -> None:
    services, channel = env.services, env.services.channels["telegram"]
    await WIRING.run(services, channel)
    (hook,) = env.api.calls("setWebhook")
    assert hook.fields["url"] == "http://chat.example.test/webhooks/telegram"
    assert hook.fields["secret_token"] == SECRET

    services.settings = services.settings.model_copy(update={"telegram_webhook_secret": None})
    await env.client.post("/api/v1/contacts", json={"external_id": "p1", "telegram_chat_id": "31"})
    env.api.queue_update(text_update("/stop", chat=31))
    task = asyncio.create_task(WIRING.run(services, channel))
    try:
        for _ in range(250):  # at most 5 s
            if env.sent():
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert env.api.calls("deleteWebhook") and env.sent()[0].fields["chat_id"] == "31"
    assert await count(env, OptOut) == 1
    assert (await env.post(text_update("5"))).status_code == 404  # no secret: no webhook


async def test_channel_off_answers_404(database_url: str, clock: FakeClock) -> None:
    app = create_app(make_settings(database_url), clock=clock, run_background=False)
    async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://test"
        ) as client:
            reply = await client.post("/webhooks/telegram", json=text_update("5"))
            assert reply.status_code == 404
