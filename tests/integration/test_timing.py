"""Who gets surveyed, and when: quiet hours at trigger and send time, sampling, cancelling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.runtime.services import Services
from channels.base import TransientSendError
from tests.conftest import FakeClock, app_client, make_settings, services_with
from tests.integration.test_dispatcher import ScriptedChannel
from tests.support import add_survey, fire, invitation

NY_CONTACT = {"external_id": "ny-1", "phone": "+12125550123", "timezone": "America/New_York"}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_sms_trigger_at_night_waits_for_local_morning(database_url: str) -> None:
    clock = FakeClock(at(2026, 11, 2, 11, 0))  # 06:00 in New York (EST)
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=NY_CONTACT)
        assert result.invitation.send_at == at(2026, 11, 2, 14, 0)  # 09:00 EST
        assert await services.outbox.send_due() == 0
        clock.now = at(2026, 11, 2, 14, 0)
        assert await services.outbox.send_due() == 1
        assert len(channel.sent) == 1
    finally:
        await services.close()


async def test_contact_without_zone_uses_the_survey_zone(database_url: str) -> None:
    clock = FakeClock(at(2026, 11, 2, 19, 0))  # 21:00 in Helsinki (EET)
    services = await services_with(database_url, clock, {"sms": ScriptedChannel()})
    try:
        await add_survey(services, timezone="Europe/Helsinki")
        result = await fire(
            services, channel="sms", contact={"external_id": "fi-1", "phone": "+358401234567"}
        )
        assert result.invitation.send_at == at(2026, 11, 3, 7, 0)  # 09:00 EET next day
    finally:
        await services.close()


async def test_web_and_email_have_no_default_quiet_hours(
    services: Services, clock: FakeClock
) -> None:
    clock.now = at(2026, 11, 2, 3, 0)
    await add_survey(services)
    assert (
        await fire(services, contact={"external_id": "w", "timezone": "Europe/Helsinki"})
    ).invitation.send_at == clock.now


async def test_a_retry_that_lands_in_quiet_hours_is_deferred_again(database_url: str) -> None:
    clock = FakeClock(at(2026, 11, 3, 0, 59, 59))  # 19:59:59 EST, one second before 20:00
    channel = ScriptedChannel(TransientSendError("503"))
    services = await services_with(database_url, clock, {"sms": channel}, retry_base_seconds=3600)
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=NY_CONTACT)
        await services.outbox.send_due()  # fails; the retry an hour later is at night
        clock.advance(hours=1)
        assert await services.outbox.send_due() == 1  # claimed, then deferred, not sent
        deferred = await invitation(services, result.invitation.id)
        assert (deferred.status, deferred.send_at, deferred.attempts) == (
            "scheduled",
            at(2026, 11, 3, 14, 0),
            1,
        )
        assert len(channel.sent) == 1
    finally:
        await services.close()


async def test_sampling_through_triggers(services: Services) -> None:
    await add_survey(services, throttle_days=0, sample_rate=0.5)
    results = [
        await fire(services, contact={"external_id": f"c{n}"}, idempotency_key=f"t{n}")
        for n in range(120)
    ]
    skipped = [r for r in results if r.invitation.status == "skipped"]
    assert {r.invitation.skip_reason for r in skipped} == {"sampled_out"}
    assert 30 < len(skipped) < 90
    replay = await fire(services, contact={"external_id": "c0"}, idempotency_key="t0")
    assert replay.invitation.id == results[0].invitation.id
    same_body = [
        (
            await fire(services, contact={"external_id": "z"}, properties={"ticket": "T-1"})
        ).invitation.status
        for _ in range(3)
    ]
    assert len(set(same_body)) == 1  # the same trigger without a key decides the same


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
