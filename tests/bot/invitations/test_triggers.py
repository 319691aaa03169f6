"""Triggers: eligibility, sampling, quiet hours and idempotency at trigger time, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import Conflict, NotFound, Unprocessable
from bot.invitations.triggers import scoped_key, webhook_caller
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, at, deliver, fire

NY_CONTACT = {"external_id": "ny-1", "phone": "+12125550123", "timezone": "America/New_York"}


async def test_trigger_schedules_with_delay(services: Services, clock: FakeClock) -> None:
    await add_survey(services)
    result = await fire(services, delay_seconds=3600, properties={"ticket_id": "T-9"})
    inv = result.invitation
    assert (inv.status, inv.channel, inv.properties) == ("scheduled", "web", {"ticket_id": "T-9"})
    assert inv.send_at == clock.now.replace(hour=13)
    assert await deliver(services) == 0  # not due yet
    clock.advance(hours=1)
    assert await deliver(services) == 1


async def test_idempotency_key_replay_returns_same_invitation(services: Services) -> None:
    await add_survey(services)
    first = await fire(services, idempotency_key="ticket-42-solved")
    again = await fire(services, idempotency_key="ticket-42-solved")
    assert first.created and not again.created
    assert again.invitation.id == first.invitation.id
    async with UnitOfWork(services.sessions) as uow:
        assert (await uow.invitations.count_by_status()) == {"scheduled": 1}


async def test_throttle_window_skips_and_records_reason(
    services: Services, clock: FakeClock
) -> None:
    await add_survey(services, throttle_days=30)
    await add_survey(services, key="relationship-nps", metric="nps")
    assert (await fire(services)).invitation.status == "scheduled"
    clock.advance(days=10)
    skipped = await fire(services, survey="relationship-nps")  # any survey counts
    assert (skipped.invitation.status, skipped.invitation.skip_reason) == ("skipped", "throttled")
    clock.advance(days=21)
    assert (await fire(services)).invitation.status == "scheduled"


async def test_throttle_zero_disables(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    assert (await fire(services)).invitation.status == "scheduled"
    assert (await fire(services)).invitation.status == "scheduled"


async def test_skipped_triggers_do_not_extend_the_window(
    services: Services, clock: FakeClock
) -> None:
    await add_survey(services, throttle_days=30)
    await fire(services)
    clock.advance(days=29)
    assert (await fire(services)).invitation.status == "skipped"
    clock.advance(days=2)
    assert (await fire(services)).invitation.status == "scheduled"


async def test_two_concurrent_triggers_for_one_contact_create_one(services: Services) -> None:
    await add_survey(services)
    results = await asyncio.gather(*(fire(services, idempotency_key=f"k{n}") for n in range(4)))
    statuses = sorted(r.invitation.status for r in results)
    assert statuses == ["scheduled", "skipped", "skipped", "skipped"]
    assert {r.invitation.skip_reason for r in results} == {None, "throttled"}


async def test_concurrent_replays_of_one_key_return_one_invitation(services: Services) -> None:
    await add_survey(services)
    results = await asyncio.gather(*(fire(services, idempotency_key="same") for _ in range(4)))
    assert len({r.invitation.id for r in results}) == 1
    async with UnitOfWork(services.sessions) as uow:
        assert (await uow.invitations.count_by_status()) == {"scheduled": 1}


async def test_unknown_survey_and_unconfigured_channel(services: Services) -> None:
    with pytest.raises(NotFound):
        await fire(services, survey="nope")
    await add_survey(services)
    with pytest.raises(Unprocessable) as info:
        await fire(services, channel="sms", contact={"external_id": "c", "phone": "+14155550123"})
    assert info.value.field == "channel"


async def test_contact_upsert_merges_properties(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    await fire(
        services, contact={"external_id": "c1", "locale": "fi", "properties": {"plan": "pro"}}
    )
    await fire(services, contact={"external_id": "c1", "properties": {"region": "EU"}})
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("c1")
    assert contact is not None
    assert (contact.locale, contact.properties) == ("fi", {"plan": "pro", "region": "EU"})


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


async def test_keys_are_scoped_to_the_caller_and_stored_with_the_request_hash(
    services: Services,
) -> None:
    await add_survey(services, throttle_days=0)
    mine = await fire(services, caller="api_key:1", idempotency_key="t-1")
    theirs = await fire(
        services, caller="api_key:2", idempotency_key="t-1", contact={"external_id": "other"}
    )
    assert theirs.created and theirs.invitation.id != mine.invitation.id
    assert mine.invitation.idempotency_key == "api_key:1 support-csat t-1"
    assert mine.invitation.request_hash is not None and len(mine.invitation.request_hash) == 64
    assert scoped_key(webhook_caller("crm eu/1"), "s", "k") == "webhook:crm%20eu%2F1 s k"
    assert len(webhook_caller("é" * 200)) == len("webhook:sha256-") + 64


async def test_a_replay_skips_the_contact_upsert_and_a_changed_body_is_a_conflict(
    services: Services,
) -> None:
    await add_survey(services, throttle_days=0)
    contact = {"external_id": "c1", "email": "ana@example.com"}
    first = await fire(services, contact=contact, idempotency_key="k")
    # `null` and an omitted field are the same request.
    again = await fire(services, contact=contact, idempotency_key="k", properties=None)
    assert not again.created and again.invitation.id == first.invitation.id
    with pytest.raises(Conflict) as info:
        await fire(services, contact={**contact, "email": "eve@example.com"}, idempotency_key="k")
    assert info.value.field == "idempotency_key" and "'k'" in info.value.message
    async with UnitOfWork(services.sessions) as uow:
        stored = await uow.contacts.get_by_external_id("c1")
        assert await uow.invitations.count_by_status() == {"scheduled": 1}
    assert stored is not None and stored.email == "ana@example.com"


async def test_racing_requests_with_one_key_and_different_bodies(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    bodies = [{"external_id": f"c{n % 2}", "email": f"p{n % 2}@example.com"} for n in range(6)]
    results = await asyncio.gather(
        *(fire(services, contact=body, idempotency_key="race") for body in bodies),
        return_exceptions=True,
    )
    invitations = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, Conflict) for r in refused), refused
    assert len(invitations) == 3 and len(refused) == 3  # the winner's body thrice, the other not
    assert len({r.invitation.id for r in invitations}) == 1
    async with UnitOfWork(services.sessions) as uow:
        winner = await uow.contacts.get(invitations[0].invitation.contact_id)
        assert winner is not None
        loser = "c1" if winner.external_id == "c0" else "c0"
        assert await uow.invitations.count_by_status() == {"scheduled": 1}
        assert await uow.contacts.get_by_external_id(loser) is None  # rolled back with its try
