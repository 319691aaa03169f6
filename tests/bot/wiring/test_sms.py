"""SMS through the app: twilio's real client against the stand-in, signed webhooks, statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from xml.etree import ElementTree

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlmodel import col

from bot.http.app import create_app
from bot.runtime.services import Services
from channels.sms import segments
from storage.models import Invitation, Message
from storage.uow import UnitOfWork
from surveys.texts import builtin
from tests.conftest import LIFESPAN_TIMEOUT, FakeClock, make_settings
from tests.standins.twilio_api import (
    TwilioStandIn,
    inbound_sms,
    server_error,
    sign,
    status_callback,
    too_many_requests,
    twilio_error,
)
from tests.support import add_survey, fire, invitation, response

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
SENDER = "+15005550006"
PHONE = "+14155550123"
PUBLIC = "http://chat.example.test"  # make_settings' public URL; the client calls http://test
INBOUND = "/webhooks/twilio/sms"
STATUS = "/webhooks/twilio/status"
CONTACT = {"external_id": "p1", "phone": PHONE, "locale": "en"}


@dataclass
class Sms:
    """The app (ASGI), its services, the Twilio stand-in and the clock, as one test harness."""

    client: httpx.AsyncClient
    services: Services
    twilio: TwilioStandIn
    clock: FakeClock

    async def post(
        self, path: str, form: dict[str, str], *, signature: str | None = None
    ) -> httpx.Response:
        signature = sign(TOKEN, PUBLIC + path, form) if signature is None else signature
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    async def text(self, body: str, *, sid: str | None = None, phone: str = PHONE) -> list[str]:
        """Send an SMS as the customer; returns the TwiML reply's messages."""
        form = inbound_sms(account_sid=ACCOUNT, from_=phone, to=SENDER, body=body, sid=sid)
        return said(await self.post(INBOUND, form))

    async def status(self, sid: str, status: str, error_code: int | None = None) -> None:
        form = status_callback(
            account_sid=ACCOUNT,
            sid=sid,
            status=status,
            to=PHONE,
            from_=SENDER,
            error_code=error_code,
        )
        assert (await self.post(STATUS, form)).status_code == 204

    async def start_survey(self, **survey: object) -> Invitation:
        """A survey asked by SMS: triggered, then sent through the stand-in."""
        result = await fire(self.services, channel="sms", contact=CONTACT)
        assert result.invitation.status == "scheduled"
        assert await self.services.outbox.send_due() == 1
        return await invitation(self.services, result.invitation.id)

    async def opted_out(self) -> bool:
        async with UnitOfWork(self.services.sessions) as uow:
            contact = await uow.contacts.get_by_external_id("p1")
            assert contact is not None and contact.id is not None
            return await uow.opt_outs.is_opted_out(contact.id, "sms")

    async def inbound_count(self) -> int:
        async with UnitOfWork(self.services.sessions) as uow:
            stmt = select(func.count()).select_from(Message).where(col(Message.direction) == "in")
            return int((await uow.session.execute(stmt)).scalar_one())


def said(reply: httpx.Response) -> list[str]:
    """The <Message> bodies of a TwiML answer."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(reply.text)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


@pytest.fixture
async def sms(database_url: str, clock: FakeClock) -> AsyncIterator[Sms]:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        settings = make_settings(
            database_url,
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN,
            twilio_from_number=SENDER,
            twilio_api_base=twilio.url,
        )
        app = create_app(settings, clock=clock, run_background=False)
        async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
            services: Services = app.state.services
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Sms(client, services, twilio, clock)


async def test_question_goes_out_through_twilio_with_hint_and_callback(sms: Sms) -> None:
    await add_survey(sms.services, key="support-csat", metric="nps")
    sent = await sms.start_survey()
    [request] = sms.twilio.attempts
    assert request.to == PHONE and request.fields["From"] == SENDER
    assert request.body == (
        "How likely are you to recommend us to a friend or colleague?\n"
        "Reply with a number from 0 to 10."
    )
    assert segments(request.body) == 1
    assert request.status_callback == PUBLIC + STATUS
    assert sent.status == "sent" and sent.provider_message_id == request.sid


async def test_webhooks_refuse_bad_or_missing_signatures(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    form = inbound_sms(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="5")
    refused = [
        await sms.client.post(INBOUND, data=form),  # no signature at all
        await sms.post(INBOUND, form, signature="bm90IGEgc2lnbmF0dXJl"),
        await sms.post(INBOUND, form, signature=sign("another-token", PUBLIC + INBOUND, form)),
        # Signed over the address the app sees, not the public one Twilio called.
        await sms.post(INBOUND, form, signature=sign(TOKEN, "http://test" + INBOUND, form)),
        # A signed form changed on the way.
        await sms.post(
            INBOUND, {**form, "Body": "1"}, signature=sign(TOKEN, PUBLIC + INBOUND, form)
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    status = status_callback(
        account_sid=ACCOUNT, sid="SMx", status="failed", to=PHONE, from_=SENDER
    )
    assert (await sms.post(STATUS, status, signature="bad")).status_code == 403
    # Signed, but not the shape of an inbound SMS: refused with the field's name.
    no_sender = {k: v for k, v in form.items() if k != "From"}
    missing = await sms.post(INBOUND, no_sender)
    assert (missing.status_code, missing.json()["field"]) == (422, "From")
    assert await sms.inbound_count() == 0
    assert (await invitation(sms.services, sent.id)).step == "awaiting_score"
    assert await response(sms.services, sent.id) is None


async def test_a_whole_conversation_answered_in_twiml(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    assert await sms.text("2") == [
        "We're sorry to hear that. What could we have done better? (or reply SKIP)"
    ]
    assert await sms.text("Three days for a first answer.") == [
        "Thank you for your feedback. We'll use it to do better."
    ]
    stored = await response(sms.services, sent.id)
    assert stored is not None and (stored.score, stored.channel) == (2, "sms")
    assert stored.comment == "Three days for a first answer."
    assert (await invitation(sms.services, sent.id)).status == "completed"
    assert await sms.text("thanks") == ["Thanks, we already have your answer."]


async def test_score_and_comment_in_one_sms(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    assert await sms.text("5 - quick and friendly") == ["Thanks so much! We're glad we could help."]
    stored = await response(sms.services, sent.id)
    assert stored is not None and (stored.score, stored.comment) == (5, "quick and friendly")


async def test_unreadable_answer_gets_the_hint_again(sms: Sms) -> None:
    await add_survey(sms.services)
    await sms.start_survey()
    assert await sms.text("meh") == [
        "Sorry, I didn't catch a score. Please reply with a number from 1 to 5.\n"
        "Reply with a number from 1 to 5."
    ]


async def test_stop_opts_out_and_start_opts_back_in(sms: Sms) -> None:
    await add_survey(sms.services, throttle_days=0)
    await sms.start_survey()
    assert await sms.text("STOP") == [
        "You won't get any more surveys here. Reply START to opt back in."
    ]
    assert await sms.opted_out()
    later = await fire(sms.services, channel="sms", contact=CONTACT)
    assert (later.invitation.status, later.invitation.skip_reason) == ("skipped", "opted_out")
    # The conversation is closed now: START is handled outside it.
    assert await sms.text("start") == ["You're subscribed to surveys again."]
    assert not await sms.opted_out()
    again = await fire(sms.services, channel="sms", contact=CONTACT)
    assert again.invitation.status == "scheduled"


async def test_keywords_from_a_known_number_without_a_conversation(sms: Sms) -> None:
    await add_survey(sms.services)
    async with UnitOfWork(sms.services.sessions) as uow:
        await uow.contacts.upsert("p1", {"phone": PHONE, "locale": "fi"})
        await uow.commit()
    assert await sms.text("HELP") == [builtin("help", "fi")]
    assert await sms.text("STOP") == [builtin("opted_out", "fi")]
    assert await sms.opted_out()
    assert await sms.text("hello") == []
    # An unknown number gets an empty answer and changes nothing.
    assert await sms.text("STOP", phone="+14155550199") == []
    assert await sms.text("HELP", phone="+14155550199") == []


async def test_redelivered_message_sid_changes_nothing(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    assert len(await sms.text("4", sid="SMfirst")) == 1
    before = await sms.inbound_count()
    assert await sms.text("4", sid="SMfirst") == []
    assert await sms.text("1", sid="SMfirst") == []
    assert await sms.inbound_count() == before
    stored = await response(sms.services, sent.id)
    assert stored is not None and stored.score == 4
    assert (await invitation(sms.services, sent.id)).step == "awaiting_comment"


async def test_status_callbacks_only_move_forward(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    sid = sent.provider_message_id or ""
    for status in ("queued", "sent", "delivered", "sent", "delivered"):
        await sms.status(sid, status)
    delivered = await invitation(sms.services, sent.id)
    assert (delivered.status, delivered.delivery_status) == ("sent", "delivered")
    await sms.status(sid, "undelivered", 30003)
    failed = await invitation(sms.services, sent.id)
    assert (failed.status, failed.last_error) == (
        "failed",
        "SMS undelivered, Twilio error 30003",
    )
    assert failed.delivery_status == "undelivered"
    await sms.status(sid, "delivered")
    await sms.status(sid, "failed", 30005)
    assert await invitation(sms.services, sent.id) == failed  # nothing moved
    assert not await sms.opted_out()
    await sms.status("SMunknown", "failed", 21610)  # not ours: acknowledged, ignored


async def test_opted_out_delivery_failure_suppresses_once(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    await sms.status(sent.provider_message_id or "", "failed", 21610)
    assert await sms.opted_out()
    assert await sms.text("START") == ["You're subscribed to surveys again."]
    await sms.status(sent.provider_message_id or "", "failed", 21610)  # repeated: no new opt-out
    assert not await sms.opted_out()


async def test_answers_after_the_question_was_answered_ignore_late_failures(sms: Sms) -> None:
    await add_survey(sms.services)
    sent = await sms.start_survey()
    await sms.text("5 great")
    await sms.status(sent.provider_message_id or "", "undelivered", 30003)
    assert (await invitation(sms.services, sent.id)).status == "completed"


@pytest.mark.parametrize(
    ("code", "status", "suppressed"),
    [(21610, 400, True), (21211, 400, True), (21408, 400, False), (20403, 403, False)],
)
async def test_permanent_send_errors_stop_without_retry(
    sms: Sms, code: int, status: int, suppressed: bool
) -> None:
    await add_survey(sms.services)
    sms.twilio.fail_next(twilio_error(code, status))
    result = await fire(sms.services, channel="sms", contact=CONTACT)
    assert await sms.services.outbox.send_due() == 1
    failed = await invitation(sms.services, result.invitation.id)
    assert failed.status == "failed" and str(code) in (failed.last_error or "")
    assert await sms.opted_out() is suppressed
    sms.clock.advance(minutes=5)
    assert await sms.services.outbox.send_due() == 0
    assert len(sms.twilio.attempts) == 1  # neither twilio's client nor the dispatcher retried


async def test_server_errors_and_429_retry_with_backoff(sms: Sms) -> None:
    await add_survey(sms.services)
    sms.twilio.fail_next(server_error(), too_many_requests(retry_after=7))
    result = await fire(sms.services, channel="sms", contact=CONTACT)
    await sms.services.outbox.send_due()
    first = await invitation(sms.services, result.invitation.id)
    assert (first.status, first.attempts) == ("scheduled", 1) and "500" in (first.last_error or "")
    assert len(sms.twilio.attempts) == 1  # one request per attempt: no hidden retries
    sms.clock.advance(seconds=2)
    await sms.services.outbox.send_due()
    second = await invitation(sms.services, result.invitation.id)
    assert second.status == "scheduled"
    assert (second.send_at - sms.clock.now).total_seconds() == 7  # Retry-After wins
    sms.clock.advance(seconds=6)
    assert await sms.services.outbox.send_due() == 0
    sms.clock.advance(seconds=1)
    assert await sms.services.outbox.send_due() == 1
    assert (await invitation(sms.services, result.invitation.id)).status == "sent"
    assert [a.status for a in sms.twilio.attempts] == [500, 429, 201]


async def test_webhooks_are_404_while_sms_is_off(sqlite_url: str, clock: FakeClock) -> None:
    app = create_app(make_settings(sqlite_url), clock=clock, run_background=False)
    async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            form = inbound_sms(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="5")
            headers = {"X-Twilio-Signature": sign(TOKEN, PUBLIC + INBOUND, form)}
            assert (await client.post(INBOUND, data=form, headers=headers)).status_code == 404
            assert (await client.post(STATUS, data=form, headers=headers)).status_code == 404
