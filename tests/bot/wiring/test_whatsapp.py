"""WhatsApp through the app: twilio's real client against the stand-in, the 24-hour window,
templates, quick replies, signed webhooks and statuses, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bot.http.app import create_app
from bot.runtime.services import Services
from storage.models import Invitation
from storage.uow import UnitOfWork
from tests.conftest import LIFESPAN_TIMEOUT, FakeClock, make_settings
from tests.standins.twilio_api import (
    Attempt,
    TwilioStandIn,
    inbound_whatsapp,
    sign,
    status_callback,
)
from tests.support import add_survey, fire, invitation, response

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
SENDER = "+15005550006"
PHONE = "+14155550123"
WA_PHONE = f"whatsapp:{PHONE}"
PUBLIC = "http://chat.example.test"  # make_settings' public URL
INBOUND = "/webhooks/twilio/whatsapp"
STATUS = "/webhooks/twilio/whatsapp/status"
CONTACT = {"external_id": "p1", "phone": PHONE, "locale": "en", "name": "Zoë"}
TEMPLATE_TEXT = "Hi {{1}}, {{2}} helped you today. How did we do? Reply with 1 to 5."


@dataclass
class WhatsApp:
    """The app (ASGI), its services, the Twilio stand-in and the clock, as one test harness."""

    client: httpx.AsyncClient
    services: Services
    twilio: TwilioStandIn
    clock: FakeClock
    template: str  # the Content SID of the approved template

    async def post(
        self, path: str, form: dict[str, str], *, signature: str | None = None
    ) -> httpx.Response:
        signature = sign(TOKEN, PUBLIC + path, form) if signature is None else signature
        return await self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    async def write(
        self, body: str, *, button: str | None = None, sid: str | None = None
    ) -> list[Attempt]:
        """The customer writes (or taps a button); returns what was sent back to them."""
        self.twilio.customer_wrote(WA_PHONE)
        before = len(self.twilio.attempts)
        form = inbound_whatsapp(
            account_sid=ACCOUNT, from_=PHONE, to=SENDER, body=body, button_payload=button, sid=sid
        )
        answer = await self.post(INBOUND, form)
        assert answer.status_code == 200, answer.text
        assert answer.text.endswith("<Response />")  # replies go through the API
        return self.twilio.attempts[before:]

    async def ask(self, survey: str = "support-csat") -> Invitation:
        result = await fire(
            self.services,
            survey,
            channel="whatsapp",
            contact=CONTACT,
            properties={"agent": "Ana"},
        )
        assert result.invitation.status == "scheduled", result.invitation.skip_reason
        await self.services.outbox.send_due()
        return await invitation(self.services, result.invitation.id)

    async def status(self, sid: str, status: str, error_code: int | None = None) -> None:
        form = status_callback(
            account_sid=ACCOUNT,
            sid=sid,
            status=status,
            to=WA_PHONE,
            from_=f"whatsapp:{SENDER}",
            error_code=error_code,
        )
        assert (await self.post(STATUS, form)).status_code == 204

    def survey(self, **fields: Any) -> dict[str, Any]:
        templates = {
            "en": {"content_sid": self.template, "variables": {"1": "{name}", "2": "{agent}"}}
        }
        return {"quiet_hours": {}, "whatsapp": {"templates": templates}, **fields}


@pytest.fixture
async def wa(database_url: str, clock: FakeClock) -> AsyncIterator[WhatsApp]:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        template = twilio.approve_template(TEMPLATE_TEXT)
        settings = make_settings(
            database_url,
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN,
            whatsapp_from=SENDER,
            twilio_api_base=twilio.url,
        )
        app = create_app(settings, clock=clock, run_background=False)
        async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
            services: Services = app.state.services
            assert "sms" not in services.channels  # WhatsApp alone: no SMS sender is set
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield WhatsApp(client, services, twilio, clock, template)


async def test_first_message_is_the_template_then_the_session_is_free_text(wa: WhatsApp) -> None:
    await add_survey(wa.services, key="support-csat", metric="csat", **wa.survey())
    asked = await wa.ask()
    [question] = wa.twilio.sent
    assert question.to == WA_PHONE and question.fields["From"] == f"whatsapp:{SENDER}"
    assert question.content_sid == wa.template
    assert question.content_variables == {"1": "Zoë", "2": "Ana"}
    assert question.shown == "Hi Zoë, Ana helped you today. How did we do? Reply with 1 to 5."
    assert question.status_callback == PUBLIC + STATUS
    assert asked.status == "sent" and asked.provider_message_id == question.sid

    [follow_up] = await wa.write("4")
    assert follow_up.shown == "Great to hear! What did we do well?"  # in the session now
    assert follow_up.buttons == (("Skip", "Skip"),)  # the Skip button, as a quick reply
    [thanks] = await wa.write("Quick and kind")
    assert thanks.body and thanks.content_sid is None
    stored = await response(wa.services, asked.id)
    assert stored is not None and (stored.score, stored.comment) == (4, "Quick and kind")


async def test_a_short_scale_in_the_session_is_three_buttons_and_a_tap_answers(
    wa: WhatsApp,
) -> None:
    await add_survey(wa.services, key="first", metric="csat", **wa.survey(throttle_days=0))
    await add_survey(
        wa.services, key="short", metric="csat", scale=(1, 3), **wa.survey(throttle_days=0)
    )
    first = await wa.ask("first")
    await wa.write("5")
    await wa.write("skip")
    assert (await invitation(wa.services, first.id)).status == "completed"

    wa.clock.advance(hours=23)  # they wrote 23 hours ago: still inside the window
    asked = await wa.ask("short")
    question = wa.twilio.sent[-1]
    assert question.content_sid is not None and question.content_sid != wa.template
    assert question.buttons == (("1", "1"), ("2", "2"), ("3", "3"))
    await wa.write("3", button="3")
    stored = await response(wa.services, asked.id)
    assert stored is not None and stored.score == 3
    # The question's buttons stay on the phone: a later tap replaces the score, not a comment.
    [follow_up] = await wa.write("1", button="1")
    assert follow_up.shown.startswith("We're sorry to hear that.")
    stored = await response(wa.services, asked.id)
    assert stored is not None and (stored.score, stored.comment) == (1, None)


async def test_outside_the_window_the_template_goes_again_and_without_one_the_send_fails(
    wa: WhatsApp,
) -> None:
    await add_survey(wa.services, key="first", metric="csat", **wa.survey(throttle_days=0))
    await add_survey(wa.services, key="bare", metric="nps", quiet_hours={}, throttle_days=0)
    first = await wa.ask("first")
    await wa.write("5")
    wa.clock.advance(hours=25)  # the window closed
    wa.twilio.session_closed(WA_PHONE)
    await wa.write("skip")  # they wrote again: open for another day
    wa.clock.advance(hours=24, seconds=1)
    wa.twilio.session_closed(WA_PHONE)
    assert (await invitation(wa.services, first.id)).status == "completed"
    sent_before = len(wa.twilio.attempts)

    failed = await wa.ask("bare")
    assert len(wa.twilio.attempts) == sent_before  # nothing reached Twilio
    assert failed.status == "failed"
    assert failed.last_error == (
        "no WhatsApp template for locale en in survey bare, and the customer has not written"
        " on WhatsApp in the last 24 hours"
    )


async def test_redelivered_message_sids_change_nothing(wa: WhatsApp) -> None:
    await add_survey(wa.services, key="support-csat", metric="csat", **wa.survey())
    asked = await wa.ask()
    first = await wa.write("2", sid="SM" + "1" * 32)
    again = await wa.write("2", sid="SM" + "1" * 32)
    assert len(first) == 1 and again == []
    stored = await response(wa.services, asked.id)
    assert stored is not None and stored.score == 2


async def test_stop_opts_out_of_whatsapp_and_start_back_in(wa: WhatsApp) -> None:
    await add_survey(wa.services, key="support-csat", metric="csat", **wa.survey())
    asked = await wa.ask()
    [confirmation] = await wa.write("STOP")
    assert confirmation.body == "You won't get any more surveys here. Reply START to opt back in."
    assert (await invitation(wa.services, asked.id)).status == "closed"
    later = await fire(
        wa.services, channel="whatsapp", contact=CONTACT, properties={"agent": "Ana"}
    )
    assert (later.invitation.status, later.invitation.skip_reason) == ("skipped", "opted_out")
    async with UnitOfWork(wa.services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("p1")
        assert contact is not None and contact.id is not None
        assert await uow.opt_outs.is_opted_out(contact.id, "whatsapp")
        assert not await uow.opt_outs.is_opted_out(contact.id, "sms")
    [back] = await wa.write("START")
    assert back.body == "You're subscribed to surveys again."
    async with UnitOfWork(wa.services.sessions) as uow:
        assert not await uow.opt_outs.is_opted_out(contact.id, "whatsapp")


async def test_statuses_only_move_forward_and_read_is_kept(wa: WhatsApp) -> None:
    await add_survey(wa.services, key="support-csat", metric="csat", **wa.survey())
    asked = await wa.ask()
    sid = asked.provider_message_id
    assert sid is not None
    for status in ("sent", "delivered", "read", "delivered", "sent"):
        await wa.status(sid, status)
    assert (await invitation(wa.services, asked.id)).delivery_status == "read"


async def test_a_number_without_whatsapp_fails_and_is_suppressed(wa: WhatsApp) -> None:
    await add_survey(wa.services, key="support-csat", metric="csat", **wa.survey())
    asked = await wa.ask()
    assert asked.provider_message_id is not None
    await wa.status(asked.provider_message_id, "undelivered", error_code=63003)
    failed = await invitation(wa.services, asked.id)
    assert failed.status == "failed"
    assert failed.last_error == "WhatsApp undelivered, Twilio error 63003"
    async with UnitOfWork(wa.services.sessions) as uow:
        assert await uow.opt_outs.is_opted_out(failed.contact_id, "whatsapp")


async def test_webhooks_refuse_bad_signatures_and_addresses(wa: WhatsApp) -> None:
    form = inbound_whatsapp(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="5")
    assert (await wa.client.post(INBOUND, data=form)).status_code == 403
    assert (await wa.post(INBOUND, form, signature="bm90IGEgc2lnbmF0dXJl")).status_code == 403
    plain = {**form, "From": PHONE}
    refused = await wa.post(INBOUND, plain)
    assert refused.status_code == 422 and refused.json()["field"] == "From"
    missing = {k: v for k, v in form.items() if k != "MessageSid"}
    assert (await wa.post(INBOUND, missing)).json()["field"] == "MessageSid"
    assert wa.twilio.attempts == []


async def test_webhooks_are_404_while_whatsapp_is_off_even_with_sms_on(
    sqlite_url: str, clock: FakeClock
) -> None:
    settings = make_settings(
        sqlite_url, twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, twilio_from_number=SENDER
    )
    app = create_app(settings, clock=clock, run_background=False)
    async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
        services: Services = app.state.services
        assert "sms" in services.channels and "whatsapp" not in services.channels
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            form = inbound_whatsapp(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="5")
            for path in (INBOUND, STATUS):
                headers = {"X-Twilio-Signature": sign(TOKEN, PUBLIC + path, form)}
                answer = await client.post(path, data=form, headers=headers)
                assert answer.status_code == 404
                assert answer.json()["detail"] == "the whatsapp channel is not configured"
