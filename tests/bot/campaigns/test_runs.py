"""Campaign runs end to end: audience, channels, eligibility, spreading, paging, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.campaigns.management import Campaigns
from bot.campaigns.runs import AudienceCount
from bot.errors import Conflict
from bot.runtime.services import Services
from storage.models import CampaignRun, Contact, Invitation
from storage.types import utcnow
from storage.uow import UnitOfWork
from surveys.campaigns import add_months
from tests.bot.campaigns.campaign_env import add_contacts, manager, nps, spec
from tests.conftest import FakeClock
from tests.support import add_survey, fire


async def add_many_contacts(services: Services, count: int) -> None:
    """`count` contacts with an email, every other one on the pro plan, in one statement."""
    now = utcnow()
    rows = [
        {
            "external_id": f"bulk-{n:05d}",
            "email": f"bulk{n}@example.test",
            "properties": {"plan": "pro" if n % 2 == 0 else "free"},
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    async with UnitOfWork(services.sessions) as uow:
        await uow.session.execute(Contact.__table__.insert(), rows)
        await uow.commit()


async def invitations(services: Services, run_id: int) -> dict[str, Invitation]:
    """The run's invitations by contact external id."""
    async with UnitOfWork(services.sessions) as uow:
        rows = await uow.session.execute(
            select(Invitation, Contact.external_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .where(Invitation.campaign_run_id == run_id)
        )
        return {external_id: inv for inv, external_id in rows.all()}


async def run_now(campaigns: Campaigns, name: str = "quarterly") -> CampaignRun:
    started = await campaigns.run_now(name)
    finished = await campaigns.execute_run(started.id or 0)
    assert finished is not None
    return finished


async def test_audience_filter_and_best_channels(services: Services) -> None:
    await nps(services)
    await add_contacts(
        services,
        {"id": "a", "telegram_chat_id": "42", "phone": "+14155550101", "locale": "fi",
         "properties": {"plan": "pro", "region": "EU"}},
        {"id": "b", "phone": "+14155550102", "email": "b@example.test",
         "properties": {"plan": "Pro", "region": "us"}},
        {"id": "c", "email": "c@example.test", "properties": {"plan": "pro", "region": "EU"}},
        {"id": "d", "phone": "+14155550104", "properties": {"plan": "free", "region": "EU"}},
        {"id": "e", "phone": "+14155550105", "properties": {"plan": "pro", "region": "APAC"}},
        {"id": "f", "properties": {"plan": "pro", "region": "EU"}},  # no address at all
    )  # fmt: skip
    campaigns = manager(services)
    await campaigns.create(spec(audience="plan = pro AND region IN (EU, US)"))
    run = await run_now(campaigns)
    assert (run.kind, run.status, run.audience, run.invited, run.skipped) == (
        "manual", "done", 4, 3, 1,
    )  # fmt: skip
    found = await invitations(services, run.id or 0)
    assert {k: v.channel for k, v in found.items()} == {"a": "telegram", "b": "sms", "c": "email"}
    inv = found["a"]
    assert inv.status == "scheduled" and inv.skip_reason is None and inv.locale == "fi"
    assert inv.properties == {"campaign": "quarterly"}
    assert inv.idempotency_key == f"campaign:{inv.campaign_id}:{run.id}:{inv.contact_id}"
    assert inv.campaign_run_id == run.id and inv.send_at == services.clock()


async def test_fixed_channel_skips_people_it_cannot_reach(services: Services) -> None:
    await nps(services)
    await add_contacts(
        services,
        {"id": "a", "telegram_chat_id": "42", "phone": "+14155550101"},
        {"id": "b", "email": "b@example.test"},
    )
    campaigns = manager(services)
    await campaigns.create(spec(channel="sms"))
    run = await run_now(campaigns)
    assert (run.audience, run.invited, run.skipped) == (2, 1, 1)
    assert {k: v.channel for k, v in (await invitations(services, run.id or 0)).items()} == {
        "a": "sms"
    }


async def test_ineligible_people_get_skipped_rows_with_reasons(services: Services) -> None:
    await nps(services, sample_rate=0.0)
    await add_survey(services)  # support-csat, to make someone throttled
    await add_contacts(
        services,
        {"id": "opted", "phone": "+14155550101"},
        {"id": "telegram-opted", "telegram_chat_id": "7", "phone": "+14155550102"},
        {"id": "recent", "email": "recent@example.test"},
        {"id": "plain", "email": "plain@example.test"},
    )
    async with UnitOfWork(services.sessions) as uow:
        opted_out = (("opted", "sms"), ("opted", "whatsapp"), ("telegram-opted", "telegram"))
        for external_id, channel in opted_out:
            contact = await uow.contacts.get_by_external_id(external_id)
            assert contact is not None
            await uow.opt_outs.add(contact.id or 0, channel, "keyword")
        await uow.commit()
    await fire(services, contact={"external_id": "recent"})  # surveyed today
    campaigns = manager(services)
    await campaigns.create(spec())
    run = await run_now(campaigns)
    found = await invitations(services, run.id or 0)
    assert {k: (v.channel, v.status, v.skip_reason) for k, v in found.items()} == {
        "opted": ("sms", "skipped", "opted_out"),
        "telegram-opted": ("sms", "skipped", "sampled_out"),  # sms is not opted out
        "recent": ("email", "skipped", "throttled"),
        "plain": ("email", "skipped", "sampled_out"),
    }
    assert (run.audience, run.invited, run.skipped) == (4, 0, 4)


async def test_sampling_is_stable_per_contact_and_run(services: Services) -> None:
    await nps(services, sample_rate=0.5, throttle_days=0)
    await add_contacts(
        services, *({"id": f"c{n}", "email": f"c{n}@example.test"} for n in range(40))
    )
    campaigns = manager(services)
    await campaigns.create(spec())
    run = await run_now(campaigns)
    statuses = [inv.status for inv in (await invitations(services, run.id or 0)).values()]
    assert 0 < statuses.count("scheduled") < 40 and run.invited == statuses.count("scheduled")


async def test_executing_a_run_twice_or_resuming_it_creates_each_invitation_once(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(
        services, *({"id": f"c{n}", "email": f"c{n}@example.test"} for n in range(9))
    )
    campaigns = manager(services, page_size=2, run_lease_seconds=60)
    await campaigns.create(spec())
    started = await campaigns.run_now("quarterly")

    pages = 0

    def crash_after_two_pages(done: int, total: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise RuntimeError("the process died")

    with pytest.raises(RuntimeError):
        await campaigns.execute_run(started.id or 0, crash_after_two_pages)
    assert len(await invitations(services, started.id or 0)) == 4
    # Held under its lease: nobody else may execute it yet.
    assert await campaigns.execute_run(started.id or 0) is None
    assert await campaigns.execute_pending_runs(clock()) == []
    clock.advance(seconds=61)
    resumed = await campaigns.execute_pending_runs(clock())
    assert [(r.id, r.status, r.audience, r.invited, r.skipped) for r in resumed] == [
        (started.id, "done", 9, 9, 0)
    ]
    assert len(await invitations(services, started.id or 0)) == 9
    assert await campaigns.execute_run(started.id or 0) is None  # done: nothing to do
    # Even forced back to pending, a run adds nothing: the idempotency keys are taken.
    async with UnitOfWork(services.sessions) as uow:
        await uow.session.execute(
            update(CampaignRun).where(CampaignRun.id == started.id).values(status="pending")
        )
        await uow.commit()
    again = await campaigns.execute_run(started.id or 0)
    assert again is not None and again.invited == 9
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 9}


async def test_one_run_per_campaign_at_a_time(services: Services) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(spec())
    first = await campaigns.run_now("quarterly")
    second = await campaigns.run_now("quarterly")  # same instant: still a distinct run
    assert first.id != second.id and second.scheduled_for > first.scheduled_for
    async with UnitOfWork(services.sessions) as uow:
        now = services.clock()
        assert await uow.campaign_runs.claim(first.id or 0, now, now + timedelta(minutes=1))
        await uow.commit()
    assert await campaigns.execute_run(second.id or 0) is None  # first one holds the campaign
    with pytest.raises(Conflict) as refused:
        await campaigns.run_now("quarterly")
    assert "run in progress" in refused.value.message


async def test_every_months_counts_from_each_persons_last_survey(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(
        services, {"id": "early", "email": "e@example.test"}, {"id": "also", "email": "a@x.test"}
    )
    campaigns = manager(services)
    await campaigns.create(spec(name="per-person", every_months=3))
    first = await run_now(campaigns, "per-person")
    assert sorted(await invitations(services, first.id or 0)) == ["also", "early"]

    clock.advance(days=61)  # two months on: nobody due but the newcomer
    await add_contacts(services, {"id": "new", "email": "n@example.test"})
    second = await run_now(campaigns, "per-person")
    assert sorted(await invitations(services, second.id or 0)) == ["new"]
    assert (second.audience, second.invited, second.skipped) == (1, 1, 0)

    clock.advance(days=61)  # four months after the first: due again; the newcomer is not
    third = await run_now(campaigns, "per-person")
    assert sorted(await invitations(services, third.id or 0)) == ["also", "early"]


async def test_spreading_over_working_hours(services: Services) -> None:
    await nps(services, quiet_hours={})
    await add_contacts(services, *({"id": f"c{n:02d}", "email": f"c{n}@x.test"} for n in range(30)))
    campaigns = manager(services)
    zone = ZoneInfo("Europe/Helsinki")
    await campaigns.create(
        spec(timezone="Europe/Helsinki", spread={"days": 5, "hours": "10:00-16:00"})
    )
    run = await run_now(campaigns)  # Monday 2026-11-02 14:00 in Helsinki
    found = await invitations(services, run.id or 0)
    times = [found[f"c{n:02d}"].send_at for n in range(30)]
    assert times == sorted(times) and len(set(times)) == 30
    start = services.clock()
    for moment in times:
        local = moment.astimezone(zone)
        assert local.weekday() < 5 and 10 <= local.hour < 16
        assert start <= moment < start + timedelta(days=5)
    assert times[0] == start and times[-1].astimezone(zone).date().isoformat() == "2026-11-06"


async def test_quiet_hours_apply_in_the_contacts_zone(services: Services) -> None:
    await nps(services, timezone="Europe/Helsinki")  # sms default window 09:00-20:00
    await add_contacts(
        services,
        {"id": "tokyo", "phone": "+14155550101", "timezone": "Asia/Tokyo"},  # 21:00 there
        {"id": "helsinki", "phone": "+14155550102"},  # survey zone: 14:00 there
    )
    campaigns = manager(services)
    await campaigns.create(spec())
    run = await run_now(campaigns)
    found = await invitations(services, run.id or 0)
    assert found["helsinki"].send_at == services.clock()
    assert found["tokyo"].send_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


async def test_paging_through_5000_contacts(services: Services) -> None:
    await nps(services)
    await add_many_contacts(services, 5000)
    campaigns = manager(services, page_size=100)
    await campaigns.create(spec(audience="plan = pro"))
    started = await campaigns.run_now("quarterly")
    calls: list[tuple[int, int]] = []
    run = await campaigns.execute_run(
        started.id or 0, lambda done, total: calls.append((done, total))
    )
    assert run is not None and (run.audience, run.invited, run.skipped) == (2500, 2500, 0)
    assert len(calls) == 50 and calls[-1] == (2500, 2500)  # one transaction per page of 100
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 2500}


async def test_two_executors_racing_for_one_run(services: Services) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(services, *({"id": f"c{n}", "email": f"c{n}@x.test"} for n in range(20)))
    first, second = manager(services, page_size=5), manager(services, page_size=5)
    await first.create(spec())
    started = await first.run_now("quarterly")
    results = await asyncio.gather(
        first.execute_run(started.id or 0), second.execute_run(started.id or 0)
    )
    assert sorted(r is None for r in results) == [False, True]
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 20}


async def test_a_run_counts_who_matched_apart_from_who_was_due(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(
        services, {"id": "early", "email": "e@example.test"}, {"id": "also", "email": "a@x.test"}
    )
    campaigns = manager(services)
    await campaigns.create(spec(name="per-person", every_months=3))
    first = await run_now(campaigns, "per-person")
    assert await campaigns.count_audience(first.id or 0) == AudienceCount(2, 2, None)
    sent = min(inv.send_at for inv in (await invitations(services, first.id or 0)).values())
    assert sent is not None

    clock.advance(days=1)
    second = await run_now(campaigns, "per-person")
    assert (second.audience, second.invited) == (0, 0)  # a bare "audience 0" misleads:
    counted = await campaigns.count_audience(second.id or 0)
    assert counted == AudienceCount(matched=2, due=0, next_due=add_months(sent, 3))
    assert await campaigns.count_audience(10_000) is None
