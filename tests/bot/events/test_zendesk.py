"""Zendesk write-back: one internal note per Zendesk-linked response, with its comment when one
follows the score, never two (retries, timeouts, restarts), and none for other surveys. Both
databases, against the loopback Zendesk stand-in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.events.delivering import Deliverer
from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.events.routing import Router, Subscriptions
from bot.events.writeback import GRACE, TARGET, zendesk_writeback
from bot.events.zendesk_api import ZendeskAccount, ZendeskApi
from bot.invitations.helpdesk import zendesk_signature
from bot.runtime.services import Services
from bot.startup.background import add_writeback
from storage.outbound import Delivery
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.zendesk_api import Answer, Ticket, ZendeskStandIn
from tests.support import add_survey, answer, deliver

WEBHOOK_SECRET = "zendesk-secret-0123456789abcdef"
EMAIL = "agent@example.com"
TOKEN = "zendesk-api-token-0123456789"
TICKET = 123


@dataclass
class Desk:
    """surveybot with the Zendesk receiver and write-back on, and the Zendesk stand-in."""

    api: httpx.AsyncClient
    services: Services
    zendesk: ZendeskStandIn
    http: httpx.AsyncClient
    clock: FakeClock
    router: Router | None = None
    deliverer: Deliverer | None = None

    def start(self, *, timeout: float | None = None) -> None:
        """A new router and deliverer on the same database, as a restarted process has."""
        self.router = Router(
            sessions=self.services.sessions, clock=self.clock, consumers=[Subscriptions()]
        )
        # No subscription here: the webhook sender's poster is never opened.
        self.deliverer = deliverer_for(
            self.services.sessions, self.clock, Poster(), self.services.settings.base_url()
        )
        if timeout is None:  # as serve wires it
            add_writeback(self.services, self.http, self.router, self.deliverer)
            return
        notes, sender = zendesk_writeback(
            account=ZendeskAccount(base=self.zendesk.url, email=EMAIL, token=TOKEN),
            client=self.http,
            clock=self.clock,
            base_url=self.services.settings.base_url(),
            timeout=timeout,
        )
        self.router.consumers = [Subscriptions(), notes]
        self.deliverer.senders = {**self.deliverer.senders, TARGET: sender}

    async def flush(self) -> None:
        assert self.router is not None and self.deliverer is not None
        while await self.router.route():
            pass
        while await self.deliverer.send_due():
            pass

    async def solve(self, ticket: int = TICKET) -> str:
        """Zendesk's webhook for a solved ticket, signed; the survey's question sent on."""
        raw = json.dumps(
            {
                "ticket": {
                    "id": ticket,
                    "status": "solved",
                    "assignee": {"name": "Ana"},
                    "group": {"name": "Billing"},
                },
                "requester": {"id": 987, "email": "a@example.com", "name": "Aino"},
            }
        ).encode()
        stamp = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = await self.api.post(
            "/webhooks/zendesk",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                "X-Zendesk-Webhook-Signature": zendesk_signature(WEBHOOK_SECRET, stamp, raw),
            },
        )
        assert reply.status_code == 202, reply.text
        await deliver(self.services)
        invitation_id: str = reply.json()["invitation_id"]
        return invitation_id

    def ticket(self, ticket: int = TICKET) -> Ticket:
        return self.zendesk.tickets[ticket]

    async def deliveries(self) -> list[Delivery]:
        async with UnitOfWork(self.services.sessions) as uow:
            rows = await uow.session.execute(
                select(Delivery).where(col(Delivery.target).startswith(TARGET + ":"))
            )
            return list(rows.scalars())


@pytest.fixture
async def desk(database_url: str, clock: FakeClock) -> AsyncIterator[Desk]:
    async with ZendeskStandIn(email=EMAIL, token=TOKEN) as zendesk:
        zendesk.open_ticket(TICKET, "My invoice is wrong")
        settings = make_settings(
            database_url,
            zendesk_webhook_secret=WEBHOOK_SECRET,
            helpdesk_survey="support-csat",
            helpdesk_delay_seconds=0,
            zendesk_api_base=zendesk.url,
            zendesk_email=EMAIL,
            zendesk_api_token=TOKEN,
        )
        async with app_client(settings, clock) as (api, services), httpx.AsyncClient() as http:
            await add_survey(services, throttle_days=0)
            built = Desk(api=api, services=services, zendesk=zendesk, http=http, clock=clock)
            built.start()
            yield built


async def test_score_then_comment_make_one_note_with_both_and_the_tags(desk: Desk) -> None:
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "2")
    await desk.flush()
    assert desk.ticket().notes == []  # waiting for a comment
    await answer(desk.services, invitation_id, "Took three days")
    await desk.flush()  # the conversation is over: the note goes now, not after the grace
    (note,) = desk.ticket().notes
    assert note.splitlines() == [
        "Survey answer (support-csat): 2 on a scale of 1-5 (CSAT), negative",
        "Comment: Took three days",
        "Channel: web",
        f"Timeline: http://chat.example.test/dashboard/invitations/{invitation_id}",
        f"Ref: surveybot-{invitation_id}",
    ]
    assert desk.ticket().tags == ["csat_2", "csat_negative"]
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    assert delivery.contact_id is not None  # so that an erasure can drop it
    desk.clock.advance(hours=2)
    await desk.flush()
    assert len(desk.ticket().notes) == 1 and len(desk.zendesk.calls_of("PUT")) == 1


async def test_a_score_without_a_comment_is_noted_after_the_grace_period(desk: Desk) -> None:
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "4")
    await desk.flush()
    desk.clock.advance(seconds=GRACE.total_seconds() - 60)
    await desk.flush()
    assert desk.zendesk.calls == []
    desk.clock.advance(seconds=61)
    await desk.flush()
    (note,) = desk.ticket().notes
    assert note.startswith("Survey answer (support-csat): 4 on a scale of 1-5 (CSAT), positive\n")
    assert "Comment: none given" in note
    assert desk.ticket().tags == ["csat_4", "csat_positive"]
    # A comment given after the note changes nothing on the ticket.
    await answer(desk.services, invitation_id, "Fine")
    await desk.flush()
    assert len(desk.ticket().notes) == 1 and len(await desk.deliveries()) == 1


async def test_two_errors_then_success_make_one_note_in_three_attempts(desk: Desk) -> None:
    desk.zendesk.script_puts(Answer(500), Answer(503))
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "1")
    await answer(desk.services, invitation_id, "Nobody answered")
    await desk.flush()
    for _ in range(2):
        desk.clock.advance(hours=2)  # past every backoff
        await desk.flush()
    assert [c.status for c in desk.zendesk.calls_of("PUT")] == [500, 503, 200]
    assert len(desk.ticket().notes) == 1
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


async def test_retry_after_a_429_is_honoured(desk: Desk) -> None:
    desk.zendesk.script_puts(Answer(429, headers={"Retry-After": "120"}))
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "3")
    await answer(desk.services, invitation_id, "Slow")
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert delivery.next_attempt_at == desk.clock.now + timedelta(seconds=120)
    desk.clock.advance(seconds=121)
    await desk.flush()
    assert [c.status for c in desk.zendesk.calls_of("PUT")] == [429, 200]
    assert len(desk.ticket().notes) == 1


async def test_a_timeout_after_zendesk_stored_the_note_adds_no_second_one(desk: Desk) -> None:
    # Many comments already: the note is found on the third page of the list.
    desk.zendesk.open_ticket(TICKET, *(f"comment {n}" for n in range(250)))
    desk.start(timeout=1.0)
    desk.zendesk.script_puts(Answer(stall=3.0))
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "2")
    await answer(desk.services, invitation_id, "Late")
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.last_error) == ("pending", "timed out")
    assert len(desk.ticket().notes) == 1  # Zendesk did store it
    desk.clock.advance(hours=1)
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(desk.ticket().notes) == 1 and len(desk.zendesk.calls_of("PUT")) == 1


async def test_a_restart_adds_no_note(desk: Desk) -> None:
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "5")
    await desk.flush()
    desk.start()  # restarted while the note waited for a comment
    await answer(desk.services, invitation_id, "Great help")
    await desk.flush()
    (note,) = desk.ticket().notes
    assert "Comment: Great help" in note
    desk.start()
    desk.clock.advance(hours=1)
    await desk.flush()
    assert len(desk.ticket().notes) == 1 and len(await desk.deliveries()) == 1


async def test_a_process_killed_after_zendesk_stored_the_note_adds_no_second_one(
    desk: Desk,
) -> None:
    desk.zendesk.script_puts(Answer(stall=30.0))
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "2")
    await answer(desk.services, invitation_id, "Rude")
    killed = asyncio.create_task(desk.flush())
    for _ in range(500):
        if desk.ticket().notes:
            break
        await asyncio.sleep(0.01)
    killed.cancel()  # dies before it learns the answer or records the attempt
    with suppress(asyncio.CancelledError):
        await killed
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    desk.start()
    desk.clock.advance(seconds=61)  # the dead process's lease runs out
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert delivery.status == "delivered"
    assert len(desk.ticket().notes) == 1 and len(desk.zendesk.calls_of("PUT")) == 1


async def test_surveys_not_triggered_by_zendesk_get_no_note(desk: Desk) -> None:
    # Properties and a key that look like Zendesk's, from an API key: not the receiver.
    reply = await desk.api.post(
        "/api/v1/triggers",
        json={
            "survey": "support-csat",
            "contact": {"external_id": "cust-9"},
            "channel": "web",
            "properties": {"ticket_id": str(TICKET), "source": "zendesk"},
            "idempotency_key": f"ticket:{TICKET}",
        },
    )
    assert reply.status_code == 202, reply.text
    await deliver(desk.services)
    await answer(desk.services, reply.json()["invitation_id"], "1")
    await answer(desk.services, reply.json()["invitation_id"], "Bad")
    await desk.flush()
    desk.clock.advance(hours=1)
    await desk.flush()
    assert await desk.deliveries() == [] and desk.zendesk.calls == []


async def test_an_api_trigger_opts_in_with_zendesk_ticket_id(desk: Desk) -> None:
    desk.zendesk.open_ticket(456)
    body: dict[str, Any] = {
        "survey": "support-csat",
        "contact": {"external_id": "cust-9"},
        "channel": "web",
        "properties": {"zendesk_ticket_id": "T-456"},
    }
    refused = await desk.api.post("/api/v1/triggers", json=body)
    assert refused.status_code == 422
    assert refused.json()["field"] == "properties.zendesk_ticket_id"
    body["properties"] = {"zendesk_ticket_id": 456}
    reply = await desk.api.post("/api/v1/triggers", json=body)
    assert reply.status_code == 202, reply.text
    await deliver(desk.services)
    await answer(desk.services, reply.json()["invitation_id"], "5")
    await answer(desk.services, reply.json()["invitation_id"], "Quick")
    await desk.flush()
    (note,) = desk.ticket(456).notes
    assert "5 on a scale of 1-5 (CSAT), positive" in note and "Comment: Quick" in note
    assert desk.ticket().notes == []


async def test_a_401_fails_at_once_and_says_why(desk: Desk) -> None:
    desk.zendesk.token = "a-token-that-was-revoked"
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "2")
    await answer(desk.services, invitation_id, "Meh")
    await desk.flush()
    desk.clock.advance(hours=3)
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("failed", 1, 401)
    assert delivery.last_error is not None
    assert "SURVEYBOT_ZENDESK_API_TOKEN" in delivery.last_error
    assert "not retried" in delivery.last_error
    assert len(desk.zendesk.calls) == 1 and desk.ticket().notes == []


async def test_an_erased_contact_gets_no_note(desk: Desk) -> None:
    invitation_id = await desk.solve()
    await answer(desk.services, invitation_id, "1")
    await desk.flush()
    erased = await desk.api.delete("/api/v1/contacts/zendesk:987")
    assert erased.status_code == 200, erased.text
    desk.clock.advance(seconds=GRACE.total_seconds() + 60)
    await desk.flush()
    (delivery,) = await desk.deliveries()
    assert delivery.status == "dropped" and delivery.payload is None
    assert desk.zendesk.calls == []


async def test_without_its_settings_the_write_back_is_off(
    database_url: str, clock: FakeClock
) -> None:
    async with app_client(make_settings(database_url), clock) as (_, services):
        async with httpx.AsyncClient() as http:
            router = Router(sessions=services.sessions, clock=clock, consumers=[Subscriptions()])
            deliverer = deliverer_for(services.sessions, clock, Poster(), "http://x.test")
            add_writeback(services, http, router, deliverer)
    assert len(router.consumers) == 1 and set(deliverer.senders) == {"webhook"}


async def test_an_attempt_is_not_begun_without_time_left_under_its_lease(desk: Desk) -> None:
    zendesk_api = ZendeskApi(
        client=desk.http,
        account=ZendeskAccount(base=desk.zendesk.url, email=EMAIL, token=TOKEN),
        clock=desk.clock,
    )
    body = json.dumps({"ticket": {"comment": {"body": "x", "public": False}}})
    late = await zendesk_api.write_note(
        str(TICKET), body, "surveybot-x", lease_until=desk.clock.now + timedelta(seconds=3)
    )
    assert late.status is None and late.error is not None and "lease" in late.error
    assert desk.zendesk.calls == []
    done = await zendesk_api.write_note(
        str(TICKET), body, "surveybot-x", lease_until=desk.clock.now + timedelta(seconds=60)
    )
    assert done.status == 200 and desk.ticket().notes == ["x"]
