"""The campaign scheduler: one leader per database, coalesced ticks, restarts, resumed runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.campaigns.scheduler import LEASE_NAME, CampaignScheduler, default_holder
from bot.runtime.services import Services
from storage.models import CampaignRun, Invitation
from storage.uow import UnitOfWork
from tests.bot.campaigns.campaign_env import ALL_CHANNELS, add_contacts, manager, nps, spec
from tests.conftest import FakeClock


@pytest.fixture
async def schedulers(services: Services) -> AsyncIterator[list[CampaignScheduler]]:
    """Schedulers made by `make`, stopped at the end."""
    made: list[CampaignScheduler] = []
    yield made
    for scheduler in made:
        await scheduler.stop()


def make(
    services: Services,
    made: list[CampaignScheduler],
    *,
    lease_seconds: float = 30,
    poll_seconds: float = 5,
) -> CampaignScheduler:
    scheduler = CampaignScheduler(
        sessions=services.sessions,
        clock=services.clock,
        channels=ALL_CHANNELS,
        suppression=services.suppression,
        holder=default_holder(),
        lease_seconds=lease_seconds,
        poll_seconds=poll_seconds,
    )
    made.append(scheduler)
    return scheduler


async def runs(services: Services) -> list[CampaignRun]:
    async with UnitOfWork(services.sessions) as uow:
        return list((await uow.session.execute(select(CampaignRun))).scalars().all())


async def invitation_count(services: Services) -> int:
    async with UnitOfWork(services.sessions) as uow:
        return int((await uow.session.execute(select(func.count(Invitation.id)))).scalar_one())


async def daily_campaign(services: Services) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(services, {"id": "a", "email": "a@example.test"})
    await manager(services).create(spec(name="daily", cron="0 9 * * *"))


async def test_lease_is_taken_renewed_taken_over_and_released(
    services: Services, clock: FakeClock
) -> None:
    async with UnitOfWork(services.sessions) as uow:
        now = clock()
        leases = uow.leases
        assert await leases.acquire("x", "one", now + timedelta(seconds=30), now)
        assert not await leases.acquire("x", "two", now + timedelta(seconds=30), now)
        assert await leases.acquire("x", "one", now + timedelta(seconds=60), now)  # renewal
        later = now + timedelta(seconds=45)
        assert not await leases.acquire("x", "two", later + timedelta(seconds=30), later)
        later = now + timedelta(seconds=61)
        assert await leases.acquire("x", "two", later + timedelta(seconds=30), later)  # expired
        assert not await leases.release("x", "one")
        assert await leases.release("x", "two")
        assert await leases.get("x") is None
        await uow.commit()


async def test_exactly_one_leader_and_takeover_after_expiry(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    first = make(services, schedulers, lease_seconds=30)
    second = make(services, schedulers, lease_seconds=30)
    await first.tick()
    await second.tick()
    assert (first.is_leader, second.is_leader) == (True, False)
    assert first.job_ids() != [] and second.job_ids() == []
    clock.advance(seconds=20)
    await first.tick()  # renews until 20 + 30
    clock.advance(seconds=20)
    await second.tick()
    assert (first.is_leader, second.is_leader) == (True, False)
    clock.advance(seconds=11)  # the leader stopped renewing 31 s ago
    await second.tick()
    await first.tick()
    assert (first.is_leader, second.is_leader) == (False, True)
    assert first.job_ids() == [] and second.job_ids() != []
    async with UnitOfWork(services.sessions) as uow:
        lease = await uow.leases.get(LEASE_NAME)
    assert lease is not None and lease.holder == second.holder
    await second.stop()  # releases: the other takes over at once
    await first.tick()
    assert first.is_leader


async def test_missed_fire_times_coalesce_into_one_run(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    scheduler = make(services, schedulers)
    assert await scheduler.tick() == []
    clock.advance(days=3)  # down over three 09:00s
    created = await scheduler.tick()
    (run,) = await runs(services)
    assert created == [run.id]
    assert run.scheduled_for == datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    assert (run.status, run.invited) == ("done", 1)


async def test_restart_makes_no_second_run_and_none_early(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    clock.advance(hours=21)  # Tuesday 09:00 exactly
    old = make(services, schedulers)
    assert len(await old.tick()) == 1
    await old.stop()
    restarted = make(services, schedulers)  # fresh process state
    assert await restarted.tick() == []
    clock.advance(hours=23, minutes=59, seconds=59)  # one second before Wednesday 09:00
    assert await restarted.tick() == []
    clock.advance(seconds=1)
    assert len(await restarted.tick()) == 1
    assert len(await runs(services)) == 2 and await invitation_count(services) == 2


async def test_leader_resumes_a_run_whose_executor_died(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    run = await manager(services).run_now("daily")
    async with UnitOfWork(services.sessions) as uow:  # an executor claims it, then dies
        now = clock()
        assert await uow.campaign_runs.claim(run.id or 0, now, now + timedelta(seconds=60))
        await uow.commit()
    scheduler = make(services, schedulers)
    await scheduler.tick()
    assert [r.status for r in await runs(services)] == ["running"]
    clock.advance(seconds=61)
    await scheduler.tick()
    assert [(r.status, r.invited) for r in await runs(services)] == [("done", 1)]


async def test_jobs_follow_pause_resume_and_new_campaigns(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    scheduler = make(services, schedulers)
    await scheduler.tick()
    (job,) = scheduler.job_ids()
    campaigns = manager(services)
    await campaigns.pause("daily")
    await scheduler.tick()
    assert scheduler.job_ids() == []
    clock.advance(days=1)
    await scheduler.tick()
    assert await runs(services) == []  # paused over a fire time
    await campaigns.resume("daily")
    await campaigns.create(spec(name="monthly", every_months=1))
    await scheduler.tick()
    assert len(scheduler.job_ids()) == 2 and job in scheduler.job_ids()


async def test_run_loop_leads_ticks_and_releases_on_cancel(
    services: Services, clock: FakeClock, schedulers: list[CampaignScheduler]
) -> None:
    await daily_campaign(services)
    clock.advance(days=1)
    scheduler = make(services, schedulers, lease_seconds=5, poll_seconds=0.05)
    task = asyncio.create_task(scheduler.run())
    deadline = time.monotonic() + 10
    while not [r for r in await runs(services) if r.status == "done"]:
        assert time.monotonic() < deadline, "the scheduler did not execute the due run"
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.leases.get(LEASE_NAME) is None


async def test_concurrent_contenders_get_one_lease(services: Services, clock: FakeClock) -> None:
    async def contend(holder: str) -> bool:
        async with UnitOfWork(services.sessions) as uow:
            now = clock()
            won = await uow.leases.acquire("race", holder, now + timedelta(seconds=30), now)
            await uow.commit()
            return won

    results = await asyncio.gather(*(contend(f"holder-{n}") for n in range(6)))
    assert sorted(results) == [False] * 5 + [True]
