"""Cancelling invitations not sent yet through the API: by id, by idempotency key, for a contact."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey, invitation


# Not tests/bot/conftest.py's `api`: this test needs the services beside the client.
@pytest.fixture
async def api(
    database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    async with app_client(make_settings(database_url), clock) as pair:
        yield pair


async def test_cancel_by_id_key_and_contact(api: tuple[httpx.AsyncClient, Services]) -> None:
    client, services = api
    await add_survey(services, throttle_days=0)
    body = {"survey": "support-csat", "contact": {"external_id": "c1"}, "delay_seconds": 3600}
    first = (await client.post("/api/v1/triggers", json={**body, "idempotency_key": "k1"})).json()
    second = (await client.post("/api/v1/triggers", json=body)).json()
    third = (await client.post("/api/v1/triggers", json=body)).json()

    cancelled = await client.delete(f"/api/v1/invitations/{second['invitation_id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.delete(f"/api/v1/invitations/{second['invitation_id']}")
    assert again.status_code == 200  # cancelling twice is fine
    by_key = await client.delete("/api/v1/invitations", params={"idempotency_key": "k1"})
    assert by_key.json() == {"invitation_id": first["invitation_id"], "status": "cancelled"}
    for_contact = await client.delete("/api/v1/contacts/c1/invitations")
    assert for_contact.json() == {"cancelled": 1}
    assert (await invitation(services, third["invitation_id"])).status == "cancelled"

    assert (await client.delete("/api/v1/invitations/nope")).status_code == 404
    assert (await client.delete("/api/v1/contacts/nobody/invitations")).status_code == 404
    sent = (await client.post("/api/v1/triggers", json={**body, "delay_seconds": 0})).json()
    await services.outbox.send_due()
    refused = await client.delete(f"/api/v1/invitations/{sent['invitation_id']}")
    assert refused.status_code == 409 and "sent" in refused.json()["detail"]
    assert services.clock() and (await invitation(services, sent["invitation_id"])).status == "sent"


async def test_cancel_by_key_reaches_only_the_callers_own_invitation(
    api: tuple[httpx.AsyncClient, Services],
) -> None:
    client, services = api
    await add_survey(services, throttle_days=0)
    async with UnitOfWork(services.sessions) as uow:
        _, other_key = await uow.api_keys.create("other")
        await uow.commit()
    other = {"Authorization": f"Bearer {other_key}"}
    body = {"survey": "support-csat", "contact": {"external_id": "c1"}, "delay_seconds": 3600}
    mine = (await client.post("/api/v1/triggers", json={**body, "idempotency_key": "k"})).json()

    refused = await client.delete(
        "/api/v1/invitations", params={"idempotency_key": "k"}, headers=other
    )
    assert refused.status_code == 404 and refused.json()["field"] == "idempotency_key"
    assert (await invitation(services, mine["invitation_id"])).status == "scheduled"

    theirs = (
        await client.post("/api/v1/triggers", json={**body, "idempotency_key": "k"}, headers=other)
    ).json()
    cancelled = await client.delete(
        "/api/v1/invitations", params={"idempotency_key": "k"}, headers=other
    )
    assert cancelled.json()["invitation_id"] == theirs["invitation_id"]
    assert (await invitation(services, mine["invitation_id"])).status == "scheduled"
    by_survey = await client.delete(
        "/api/v1/invitations", params={"idempotency_key": "k", "survey": "support-csat"}
    )
    assert by_survey.json() == {"invitation_id": mine["invitation_id"], "status": "cancelled"}
