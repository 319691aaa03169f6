"""Managing campaigns: validation, refusals, cron weekdays, due runs, pause, resume, delete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.campaigns.management import Campaigns
from bot.errors import Conflict, NotFound, Unprocessable
from bot.invitations.suppression import Suppressions
from bot.runtime.services import Services
from storage.models import Campaign, CampaignRun, Invitation, RunStatus
from storage.uow import UnitOfWork
from tests.bot.campaigns.campaign_env import ALL_CHANNELS, add_contacts, manager, nps, spec
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


@pytest.mark.parametrize("channel", ["fax", "web"])
def test_a_campaign_channel_is_one_that_reaches_people_by_itself(channel: str) -> None:
    campaigns = Campaigns(
        sessions=async_sessionmaker(),
        clock=FakeClock(),
        channels=ALL_CHANNELS,
        suppression=Suppressions.keyed_by("a secret no database is opened for"),
    )
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


async def _archive(services: Services, archived: bool) -> None:
    async with UnitOfWork(services.sessions) as uow:
        await uow.surveys.set_archived("relationship-nps", services.clock() if archived else None)
        await uow.commit()


async def test_an_archived_survey_s_campaigns_do_not_run(
    services: Services, clock: FakeClock
) -> None:
    await nps(services)
    await add_contacts(services, {"id": "a", "email": "a@example.test"})
    campaigns = manager(services)
    await campaigns.create(spec(cron="0 9 * * *"))
    clock.advance(hours=21)  # Tuesday 09:00: a run is made, then the survey is archived
    (pending,) = await campaigns.create_due_runs(clock())
    await _archive(services, archived=True)

    ended = await campaigns.execute_run(pending)
    assert ended is None
    run = await campaigns.run(pending)
    assert (run.status, run.audience, run.invited) == (RunStatus.DONE, 0, 0)
    clock.advance(days=1)  # Wednesday 09:00: no run while archived
    assert await campaigns.create_due_runs(clock()) == []
    with pytest.raises(Conflict) as refused:
        await campaigns.run_now("quarterly")
    assert refused.value.field == "survey" and "archived" in refused.value.message
    with pytest.raises(Conflict) as refused:
        await campaigns.create(spec(name="another"))
    assert refused.value.field == "survey"
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {}

    await _archive(services, archived=False)
    assert await campaigns.create_due_runs(clock()) == []  # Wednesday's is not made up
    clock.advance(days=1)
    assert len(await campaigns.create_due_runs(clock())) == 1


async def test_delete_keeps_the_invitations_and_cancels_the_unsent(
    services: Services, clock: FakeClock
) -> None:
    await nps(services)
    await add_contacts(
        services,
        {"id": "a", "email": "a@example.test"},
        {"id": "b", "email": "b@example.test"},
    )
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("b")
        assert contact is not None and contact.id is not None
        await uow.opt_outs.add(contact.id, "email", source="keyword")
        await uow.commit()
    campaigns = manager(services)
    await campaigns.create(spec())
    started = await campaigns.run_now("quarterly")
    await campaigns.execute_run(started.id or 0)
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 1, "skipped": 1}

    deleted = await campaigns.delete("quarterly")
    assert (deleted.runs, deleted.invitations, deleted.cancelled) == (1, 2, 1)
    async with UnitOfWork(services.sessions) as uow:
        rows = (await uow.session.execute(select(Invitation))).scalars().all()
        assert await uow.campaigns.get_by_name("quarterly") is None
        assert (await uow.session.execute(select(CampaignRun))).scalars().all() == []
    assert sorted((i.status, i.skip_reason) for i in rows) == [
        ("cancelled", "campaign deleted"),
        ("skipped", "opted_out"),
    ]
    assert all(i.campaign_id is None and i.campaign_run_id is None for i in rows)
    assert all(i.properties == {"campaign": "quarterly"} for i in rows)  # reports can still tell
    with pytest.raises(NotFound):
        await campaigns.delete("quarterly")
    # The name is free again.
    await campaigns.create(spec())


async def test_delete_waits_for_a_run_in_progress(services: Services, clock: FakeClock) -> None:
    await nps(services)
    campaigns = manager(services)
    await campaigns.create(spec())
    started = await campaigns.run_now("quarterly")
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.campaign_runs.claim(started.id or 0, clock(), clock.advance(minutes=1))
        await uow.commit()
    with pytest.raises(Conflict) as refused:
        await campaigns.delete("quarterly")
    assert refused.value.field == "name" and "in progress" in refused.value.message
