"""Help-desk webhooks through the ASGI app: signatures, staleness, Zendesk mapping, idempotency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bot.http.app import create_app
from bot.invitations.helpdesk import generic_signature, zendesk_signature
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import LIFESPAN_TIMEOUT, FakeClock, make_settings
from tests.support import add_survey, invitation

GENERIC_SECRET = "crm-secret-0123456789abcdef"
ZENDESK_SECRET = "zendesk-secret-0123456789abcdef"
NOW = datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)

EVENT = {
    "survey": "support-csat",
    "contact": {"external_id": "crm-7", "email": "ana@example.com"},
    "channel": "web",
    "properties": {"agent": "Ana"},
    "idempotency_key": "crm-order-7",
}


def zendesk_body(status: str = "solved", ticket: int = 123) -> dict[str, Any]:
    return {
        "ticket": {
            "id": ticket,
            "status": status,
            "assignee": {"name": "Ana"},
            "group": {"name": "Billing"},
        },
        "requester": {
            "id": 987,
            "email": "a@example.com",
            "name": "Aino",
            "locale": "fi",
            "phone": "+358401234567",
        },
    }


class Hooks:
    """A client for the webhooks that signs the way each sender does."""

    def __init__(self, client: httpx.AsyncClient, services: Services, clock: FakeClock) -> None:
        self.client = client
        self.services = services
        self.clock = clock

    async def event(
        self,
        body: dict[str, Any] | bytes,
        *,
        source: str = "crm",
        secret: str = GENERIC_SECRET,
        sent_at: datetime | None = None,
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        timestamp = str(int((sent_at or self.clock()).timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Surveybot-Timestamp": timestamp,
            "X-Surveybot-Signature": generic_signature(secret, timestamp, raw),
        }
        return await self.client.post(f"/webhooks/events/{source}", content=raw, headers=headers)

    async def zendesk(
        self,
        body: dict[str, Any],
        *,
        secret: str = ZENDESK_SECRET,
        sent_at: datetime | None = None,
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        timestamp = (sent_at or self.clock()).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "Content-Type": "application/json",
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Signature": zendesk_signature(secret, timestamp, raw),
        }
        return await self.client.post("/webhooks/zendesk", content=raw, headers=headers)

    async def stored(self) -> dict[str, int]:
        async with UnitOfWork(self.services.sessions) as uow:
            return await uow.invitations.count_by_status()


@asynccontextmanager
async def _hooks(database_url: str, clock: FakeClock, **settings: object) -> AsyncIterator[Hooks]:
    clock.now = NOW
    app = create_app(make_settings(database_url, **settings), clock=clock, run_background=False)
    async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
        services: Services = app.state.services
        await add_survey(services)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Hooks(client, services, clock)


@pytest.fixture
async def hooks(database_url: str, clock: FakeClock) -> AsyncIterator[Hooks]:
    async with _hooks(
        database_url,
        clock,
        webhook_secrets={"crm": GENERIC_SECRET},
        zendesk_webhook_secret=ZENDESK_SECRET,
        helpdesk_survey="support-csat",
    ) as built:
        yield built


async def test_a_signed_event_schedules_like_the_trigger_api(hooks: Hooks) -> None:
    reply = await hooks.event(EVENT)
    assert reply.status_code == 202
    data = reply.json()
    assert (data["status"], data["channel"], data["send_at"]) == (
        "scheduled",
        "web",
        "2026-11-24T01:02:03Z",
    )
    assert data["link"].startswith("http://chat.example.test/s/")
    replay = await hooks.event(EVENT)
    assert replay.json()["invitation_id"] == data["invitation_id"]
    stored = await invitation(hooks.services, data["invitation_id"])
    assert stored.properties == {"agent": "Ana"}


async def test_bad_or_missing_signature_is_401_and_stores_nothing(hooks: Hooks) -> None:
    wrong = await hooks.event(EVENT, secret="another-secret-0123456789")
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid signature"
    raw = json.dumps(EVENT).encode()
    missing = await hooks.client.post("/webhooks/events/crm", content=raw)
    assert missing.status_code == 401 and "missing" in missing.json()["detail"]
    timestamp = str(int(NOW.timestamp()))
    tampered = await hooks.client.post(
        "/webhooks/events/crm",
        content=raw.replace(b"crm-7", b"crm-8"),
        headers={
            "X-Surveybot-Timestamp": timestamp,
            "X-Surveybot-Signature": generic_signature(GENERIC_SECRET, timestamp, raw),
        },
    )
    assert tampered.status_code == 401
    assert await hooks.stored() == {}


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
async def test_stale_timestamp_is_401(hooks: Hooks, skew: timedelta) -> None:
    reply = await hooks.event(EVENT, sent_at=NOW + skew)
    assert reply.status_code == 401 and "stale" in reply.json()["detail"]
    zendesk = await hooks.zendesk(zendesk_body(), sent_at=NOW + skew)
    assert zendesk.status_code == 401
    assert await hooks.stored() == {}
    fresh = await hooks.event(EVENT, sent_at=NOW + skew / 2)
    assert fresh.status_code == 202


async def test_unknown_source_is_404(hooks: Hooks) -> None:
    reply = await hooks.event(EVENT, source="freshdesk")
    assert reply.status_code == 404 and reply.json()["field"] == "source"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**EVENT, "delay_seconds": -1}, "delay_seconds"),
        ({**EVENT, "contact": {"external_id": "c", "phone": "12"}}, "phone"),
        ({**EVENT, "survey": None}, "survey"),
        (b"{not json", "body"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(
    hooks: Hooks, body: dict[str, Any] | bytes, field: str
) -> None:
    reply = await hooks.event(body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == field
    assert await hooks.stored() == {}


async def test_unknown_survey_in_an_event_is_404(hooks: Hooks) -> None:
    reply = await hooks.event({**EVENT, "survey": "nope"})
    assert reply.status_code == 404 and reply.json()["field"] == "survey"


async def test_zendesk_solved_ticket_schedules_a_day_later_once(hooks: Hooks) -> None:
    reply = await hooks.zendesk(zendesk_body())
    assert reply.status_code == 202
    data = reply.json()
    assert data["status"] == "scheduled" and data["channel"] == "web"
    assert datetime.fromisoformat(data["send_at"]) == NOW + timedelta(hours=24)
    stored = await invitation(hooks.services, data["invitation_id"])
    assert stored.properties == {
        "ticket_id": "123",
        "agent": "Ana",
        "group": "Billing",
        "source": "zendesk",
    }
    assert stored.idempotency_key == "zendesk support-csat ticket:123"  # scoped to Zendesk
    async with UnitOfWork(hooks.services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("zendesk:987")
    assert contact is not None
    assert (contact.name, contact.email, contact.locale, contact.phone) == (
        "Aino",
        "a@example.com",
        "fi",
        "+358401234567",
    )
    hooks.clock.advance(minutes=10)
    closed = await hooks.zendesk(zendesk_body(status="Closed"))
    assert closed.json()["invitation_id"] == data["invitation_id"]
    # Solved again by someone else: still the same ticket, so the same survey (not a 409).
    resolved = zendesk_body()
    resolved["ticket"]["assignee"] = {"name": "Bo"}
    again = await hooks.zendesk(resolved)
    assert again.status_code == 202 and again.json()["invitation_id"] == data["invitation_id"]
    assert await hooks.stored() == {"scheduled": 1}


@pytest.mark.parametrize("ticket", ["7" * 65, 10**19])
async def test_zendesk_ids_out_of_bounds_are_422(hooks: Hooks, ticket: object) -> None:
    body = zendesk_body()
    body["ticket"]["id"] = ticket
    body["requester"]["id"] = ticket
    reply = await hooks.zendesk(body)
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][1] == "ticket"
    assert await hooks.stored() == {}


async def test_zendesk_open_ticket_is_ignored(hooks: Hooks) -> None:
    reply = await hooks.zendesk(zendesk_body(status="open"))
    assert reply.status_code == 202
    assert reply.json() == {"status": "ignored", "reason": "ticket not solved"}
    assert await hooks.stored() == {}


async def test_zendesk_fields_it_cannot_use_are_left_out(hooks: Hooks) -> None:
    body = zendesk_body()
    body["ticket"]["assignee"] = {"name": ""}
    body["requester"].update(locale="English", phone="040 123", email="")
    reply = await hooks.zendesk(body)
    assert reply.status_code == 202
    stored = await invitation(hooks.services, reply.json()["invitation_id"])
    assert stored.properties["agent"] is None
    async with UnitOfWork(hooks.services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("zendesk:987")
    assert contact is not None and (contact.locale, contact.phone, contact.email) == (
        None,
        None,
        None,
    )


async def test_zendesk_refuses_bad_signature_and_bad_body(hooks: Hooks) -> None:
    forged = await hooks.zendesk(zendesk_body(), secret="not-the-zendesk-secret-0123")
    assert forged.status_code == 401
    reply = await hooks.zendesk({"requester": {"id": 1}})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "ticket"
    assert await hooks.stored() == {}


async def test_webhooks_are_404_until_configured(database_url: str, clock: FakeClock) -> None:
    # (A Zendesk secret without a survey no longer starts at all: the settings refuse it.)
    async with _hooks(database_url, clock) as hooks:
        assert (await hooks.event(EVENT)).status_code == 404
        assert (await hooks.zendesk(zendesk_body())).status_code == 404


async def test_zendesk_scores_group_by_agent(database_url: str, clock: FakeClock) -> None:
    async with _hooks(
        database_url,
        clock,
        zendesk_webhook_secret=ZENDESK_SECRET,
        helpdesk_survey="support-csat",
        helpdesk_delay_seconds=0,
    ) as hooks:
        reply = (await hooks.zendesk(zendesk_body())).json()
        token = reply["link"].rsplit("/", 1)[1]
        await hooks.services.outbox.send_due()
        answered = await hooks.client.post(
            f"/s/{token}/messages", json={"text": "5", "client_message_id": "a"}
        )
        assert answered.status_code == 200
        async with UnitOfWork(hooks.services.sessions) as uow:
            _, key = await uow.api_keys.create("tests")
            await uow.commit()
        scores = (
            await hooks.client.get(
                "/api/v1/surveys/support-csat/scores",
                params={"group_by": "agent"},
                headers={"Authorization": f"Bearer {key}"},
            )
        ).json()
        assert scores["responses"] == 1
        assert scores["groups"][0]["group"] == {"agent": "Ana"}


async def test_a_replayed_signed_event_without_a_key_changes_nothing(hooks: Hooks) -> None:
    raw = json.dumps({**EVENT, "idempotency_key": None}).encode()
    timestamp = str(int(NOW.timestamp()))
    headers = {
        "X-Surveybot-Timestamp": timestamp,
        "X-Surveybot-Signature": generic_signature(GENERIC_SECRET, timestamp, raw),
    }
    first = await hooks.client.post("/webhooks/events/crm", content=raw, headers=headers)
    assert first.status_code == 202
    hooks.clock.advance(minutes=4)  # still inside the signature's window
    for _ in range(3):
        replay = await hooks.client.post("/webhooks/events/crm", content=raw, headers=headers)
        assert replay.status_code == 202 and _same(replay.json()) == _same(first.json())
    assert await hooks.stored() == {"scheduled": 1}
    # A new delivery (new timestamp, so a new signature) of the same event is a new trigger.
    fresh = await hooks.event(json.loads(raw))
    assert fresh.json()["invitation_id"] != first.json()["invitation_id"]


async def test_sources_and_the_api_do_not_share_idempotency_keys(
    database_url: str, clock: FakeClock
) -> None:
    other_secret = "erp-secret-0123456789abcdef"
    async with _hooks(
        database_url,
        clock,
        webhook_secrets={"crm": GENERIC_SECRET, "erp": other_secret},
        zendesk_webhook_secret=ZENDESK_SECRET,
        helpdesk_survey="support-csat",
    ) as hooks:
        crm = (await hooks.event(EVENT)).json()
        erp = (await hooks.event(EVENT, source="erp", secret=other_secret)).json()
        assert erp["invitation_id"] != crm["invitation_id"] and erp["link"] != crm["link"]
        # A caller guessing Zendesk's key gets its own invitation, not the ticket's link.
        ticket = (await hooks.zendesk(zendesk_body())).json()
        guess = {**EVENT, "idempotency_key": "zendesk:ticket:123"}
        guessed = (await hooks.event(guess)).json()
        assert guessed["invitation_id"] != ticket["invitation_id"]
        async with UnitOfWork(hooks.services.sessions) as uow:
            _, key = await uow.api_keys.create("tests")
            await uow.commit()
        api = await hooks.client.post(
            "/api/v1/triggers", json=EVENT, headers={"Authorization": f"Bearer {key}"}
        )
        assert api.json()["invitation_id"] not in {crm["invitation_id"], erp["invitation_id"]}
        assert sum((await hooks.stored()).values()) == 5


async def test_a_changed_event_with_a_used_key_is_409(hooks: Hooks) -> None:
    assert (await hooks.event(EVENT)).status_code == 202
    changed = await hooks.event({**EVENT, "contact": {"external_id": "crm-7", "email": "x@y.z"}})
    assert changed.status_code == 409 and changed.json()["field"] == "idempotency_key"
    async with UnitOfWork(hooks.services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("crm-7")
    assert contact is not None and contact.email == "ana@example.com"


def _same(answer: dict[str, Any]) -> dict[str, Any]:
    """A trigger's answer without the link's signing time (a link signed a second later differs)."""
    link = answer.get("link")
    return {**answer, "link": link.split(".", 1)[0] if link else link}
