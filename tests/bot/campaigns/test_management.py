"""Managing campaigns: validation, refusals, cron weekdays, due runs coalesced, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.campaigns.management import Campaigns
from bot.errors import Conflict, NotFound, Unprocessable
from bot.runtime.services import Services
from storage.models import Campaign, RunStatus
from storage.uow import UnitOfWork
from tests.bot.campaigns.campaign_env import ALL_CHANNELS, manager, nps, spec
from tests.conftest import FakeClock


async def test_add_validates_and_refuses(services: Services) -> None:
    await nps(services)
    campaigns = manager(services, channels=[i for i in ALL_CHANNELS if i.name in ("web", "email")])
    with pytest.raises(Unprocessable) as bad_cron:
        await campaigns.create(spec(cron="0 25 * * *"))
    assert bad_cron.value.field == "cron"
    with pytest.raises(Unprocessable) as bad_channel:
        await campaigns.create(spec(channel="sms"))
    assert bad_channel.value.field == "channel"
    with pytest.raises(NotFound) as no_survey:
        await campaigns.create(spec(survey="nope"))
    assert no_survey.value.field == "survey"
    await campaigns.create(spec())
    with pytest.raises(Conflict):
        await campaigns.create(spec(cron="0 9 * * *"))
    with pytest.raises(NotFound):
        await campaigns.pause("other")
    with pytest.raises(Unprocessable) as renamed:
        await campaigns.update("quarterly", spec(name="renamed"))
    assert renamed.value.field == "name"
    async with UnitOfWork(services.sessions) as uow:
        assert len(await uow.campaigns.with_survey_keys()) == 1


@pytest.mark.parametrize("channel", ["whatsapp", "web"])
def test_a_campaign_channel_is_one_that_reaches_people_by_itself(channel: str) -> None:
    campaigns = Campaigns(sessions=async_sessionmaker(), clock=FakeClock(), channels=ALL_CHANNELS)
    with pytest.raises(Unprocessable) as refused:
        campaigns.validate(spec(channel=channel))
    assert refused.value.field == "channel"


async def test_cron_weekdays_follow_crontab(services: Services) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(spec(cron="0 9 * * 1"))  # crontab: Monday (APScheduler's 1 is Tuesday)
    view = await campaigns.get("quarterly")
    assert view.next_fire_at == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    assert view.next_fire_at.weekday() == 0
    await campaigns.update("quarterly", spec(cron="30 8 * * 0,6"))  # Sundays and Saturdays
    assert (await campaigns.get("quarterly")).next_fire_at == datetime(
        2026, 11, 7, 8, 30, tzinfo=UTC
    )


async def test_due_runs_coalesce_and_are_not_made_early_or_twice(
    services: Services, clock: FakeClock
) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(spec(cron="0 9 * * *"))  # created Monday 12:00, after 09:00
    assert await campaigns.create_due_runs(clock()) == []  # 09:00 today was before it existed
    clock.advance(hours=20, minutes=59)  # Tuesday 08:59
    assert await campaigns.create_due_runs(clock()) == []
    clock.advance(days=3, minutes=2)  # Friday 09:01: Tue, Wed, Thu and Fri 09:00 missed
    created = await campaigns.create_due_runs(clock())
    assert len(created) == 1
    # A fresh process (new objects, same database) finds nothing more to do.
    assert await manager(services).create_due_runs(clock()) == []
    async with UnitOfWork(services.sessions) as uow:
        run = await uow.campaign_runs.get(created[0])
        campaign = await uow.campaigns.get_by_name("quarterly")
    assert run is not None and campaign is not None
    assert (run.kind, run.status) == ("scheduled", RunStatus.PENDING)
    assert run.scheduled_for == campaign.last_fire_at == datetime(2026, 11, 6, 9, 0, tzinfo=UTC)


async def test_pause_and_resume(services: Services, clock: FakeClock) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(spec(cron="0 9 * * *"))
    paused = await campaigns.pause("quarterly")
    assert paused.status == "paused" and (await campaigns.get("quarterly")).next_fire_at is None
    clock.advance(days=2)  # two fire times pass while paused
    assert await campaigns.create_due_runs(clock()) == []
    await campaigns.resume("quarterly")  # Wednesday 12:00: today's 09:00 is not made up
    assert await campaigns.create_due_runs(clock()) == []
    assert (await campaigns.get("quarterly")).next_fire_at == datetime(
        2026, 11, 5, 9, 0, tzinfo=UTC
    )
    clock.advance(hours=21)
    assert len(await campaigns.create_due_runs(clock())) == 1
    async with UnitOfWork(services.sessions) as uow:
        (campaign,) = (await uow.session.execute(select(Campaign))).scalars().all()
    assert campaign.status == "active"


async def test_every_months_campaign_looks_daily_at_its_time(
    services: Services, clock: FakeClock
) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(
        spec(name="per-person", every_months=6, at="10:30", timezone="Europe/Helsinki")
    )
    view = await campaigns.get("per-person")
    assert view.next_fire_at == datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    clock.advance(days=1)
    assert len(await campaigns.create_due_runs(clock())) == 1
