"""Campaign runs end to end: audience, channels, eligibility, spreading, paging, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.campaigns.management import Campaigns
from bot.errors import Conflict, NotFound, Unprocessable
from bot.runtime.services import Services
from bot.wiring import registry
from storage.models import Campaign, CampaignRun, Contact, Invitation, RunStatus
from storage.types import utcnow
from storage.uow import UnitOfWork
from surveys.campaigns import CampaignSpec
from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey, fire

ALL_CHANNELS = registry.infos()


def manager(services: Services, **options: Any) -> Campaigns:
    options.setdefault("channels", ALL_CHANNELS)
    return Campaigns(sessions=services.sessions, clock=services.clock, **options)


def spec(**fields: Any) -> CampaignSpec:
    fields.setdefault("name", "quarterly")
    fields.setdefault("survey", "relationship-nps")
    if "every_months" not in fields:
        fields.setdefault("cron", "0 9 1 */3 *")
    return CampaignSpec.model_validate(fields)


async def add_contacts(services: Services, *contacts: dict[str, Any]) -> None:
    async with UnitOfWork(services.sessions) as uow:
        for contact in contacts:
            fields = dict(contact)
            external_id = fields.pop("id")
            properties = fields.pop("properties", {})
            await uow.contacts.upsert(external_id, fields, properties)
        await uow.commit()


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


async def nps(services: Services, **fields: Any) -> None:
    await add_survey(services, key="relationship-nps", metric="nps", **fields)


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
        for external_id, channel in (("opted", "sms"), ("telegram-opted", "telegram")):
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


async def test_api(database_url: str, clock: FakeClock) -> None:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_from="surveys@example.test", smtp_tls="none"
    )
    async with app_client(settings, clock) as (client, services):
        await nps(services)
        await add_contacts(
            services,
            {"id": "a", "email": "a@example.test", "properties": {"plan": "pro"}},
            {"id": "b", "email": "b@example.test", "properties": {"plan": "free"}},
            {"id": "c", "phone": "+14155550101", "properties": {"plan": "pro"}},  # no sms here
        )
        body = {"name": "quarterly", "survey": "relationship-nps", "audience": "plan = pro"}
        created = await client.post("/api/v1/campaigns", json={**body, "cron": "0 9 1 */3 *"})
        assert created.status_code == 201, created.text
        assert created.json()["next_fire_at"] == "2027-01-01T09:00:00Z"
        assert created.json()["cadence"] == "cron 0 9 1 */3 *"
        again = await client.post("/api/v1/campaigns", json={**body, "every_months": 3})
        assert again.status_code == 409 and "already exists" in again.json()["detail"]

        refusals = [
            ({**body, "name": "x", "cron": "0 25 * * *"}, 422, "cron"),
            ({**body, "name": "x", "cron": "0 9 * * *", "channel": "sms"}, 422, "channel"),
            ({**body, "name": "x", "survey": "nope", "every_months": 1}, 404, "survey"),
        ]
        for payload, code, field in refusals:
            refused = await client.post("/api/v1/campaigns", json=payload)
            assert (refused.status_code, refused.json().get("field")) == (code, field)
        invalid = await client.post(
            "/api/v1/campaigns",
            json={**body, "name": "x", "audience": "plan =", "cron": "* * * * *"},
        )
        assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == [
            "body",
            "audience",
        ]

        replaced = await client.put(
            "/api/v1/campaigns/quarterly", json={**body, "every_months": 3, "at": "10:00"}
        )
        assert replaced.status_code == 200 and replaced.json()["spec"]["every_months"] == 3
        renamed = await client.put(
            "/api/v1/campaigns/quarterly", json={**body, "name": "other", "every_months": 3}
        )
        assert (renamed.status_code, renamed.json()["field"]) == (422, "name")
        missing = await client.put(
            "/api/v1/campaigns/nope", json={**body, "name": "nope", "every_months": 3}
        )
        assert missing.status_code == 404

        paused = await client.post("/api/v1/campaigns/quarterly/pause")
        assert paused.json()["status"] == "paused" and paused.json()["next_fire_at"] is None
        resumed = await client.post("/api/v1/campaigns/quarterly/resume")
        assert resumed.json()["status"] == "active"
        assert resumed.json()["next_fire_at"] == "2026-11-03T10:00:00Z"

        started = await client.post("/api/v1/campaigns/quarterly/runs")
        assert started.status_code == 202 and started.json()["status"] == "pending"
        await asyncio.gather(*services.tasks)
        listed_runs = (await client.get("/api/v1/campaigns/quarterly/runs")).json()
        assert listed_runs["count"] == 1
        run = listed_runs["data"][0]
        assert (run["kind"], run["status"], run["audience"], run["invited"], run["skipped"]) == (
            "manual", "done", 2, 1, 1,
        )  # fmt: skip

        listing = (await client.get("/api/v1/campaigns")).json()
        assert listing["count"] == 1 and listing["data"][0]["last_run"]["id"] == run["id"]
        detail = (await client.get("/api/v1/campaigns/quarterly")).json()
        assert [r["id"] for r in detail["recent_runs"]] == [run["id"]]
        for path in ("/campaigns/nope", "/campaigns/nope/runs"):
            assert (await client.get(f"/api/v1{path}")).status_code == 404
        for path in ("/campaigns/nope/pause", "/campaigns/nope/resume", "/campaigns/nope/runs"):
            assert (await client.post(f"/api/v1{path}")).status_code == 404
        anonymous = await client.get("/api/v1/campaigns", headers={"Authorization": ""})
        assert anonymous.status_code == 401


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
