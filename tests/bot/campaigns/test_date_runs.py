"""Campaigns timed by each contact's own date, run on both databases with a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.campaigns.management import Campaigns
from bot.campaigns.runs import AudienceCount
from bot.campaigns.scheduler import CampaignScheduler, default_holder
from bot.runtime.services import Services
from storage.models import CampaignRun, Contact, Invitation
from storage.uow import UnitOfWork
from tests.bot.campaigns.campaign_env import ALL_CHANNELS, add_contacts, manager, nps, spec
from tests.conftest import FakeClock
from tests.support import add_survey, fire


def dated(**relative_to: Any) -> dict[str, Any]:
    """The `relative_to` of a spec: six months before `renewal_date` unless told otherwise."""
    relative_to.setdefault("property", "renewal_date")
    if "after" not in relative_to:
        relative_to.setdefault("before", "6mo")
    return relative_to


async def add_dated(services: Services, **fields: Any) -> None:
    """A campaign named "renewals" (relationship-nps, at 09:00 UTC unless told otherwise)."""
    fields.setdefault("name", "renewals")
    relative = {
        k: fields.pop(k) for k in ("before", "after", "grace_days", "property") if k in fields
    }
    await manager(services).create(spec(relative_to=dated(**relative), **fields))


def person(external_id: str, renewal: Any = None, **fields: Any) -> dict[str, Any]:
    """A contact with an email and (unless None) a renewal_date, stored as given."""
    properties = {} if renewal is None else {"renewal_date": renewal}
    return {
        "id": external_id,
        "email": f"{external_id}@example.test",
        "properties": properties,
        **fields,
    }


async def run_now(campaigns: Campaigns, name: str = "renewals") -> CampaignRun:
    started = await campaigns.run_now(name)
    finished = await campaigns.execute_run(started.id or 0)
    assert finished is not None
    return finished


async def invited(services: Services, run: CampaignRun) -> dict[str, tuple[str, str | None]]:
    """The run's invitations as {external id: (status, skip reason)}."""
    async with UnitOfWork(services.sessions) as uow:
        rows = await uow.session.execute(
            select(Invitation.status, Invitation.skip_reason, Contact.external_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .where(Invitation.campaign_run_id == run.id)
        )
        return {row[2]: (row[0], row[1]) for row in rows.all()}


async def set_renewal(services: Services, external_id: str, renewal: str | None) -> None:
    await add_contacts(services, {"id": external_id, "properties": {"renewal_date": renewal}})


def counts(run: CampaignRun) -> tuple[int, int, int, dict[str, int]]:
    return run.audience, run.invited, run.skipped, run.skip_reasons or {}


async def test_a_day_s_run_invites_those_whose_day_it_is_once_per_date(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=0)
    await add_contacts(
        services,
        person("due", "2027-05-02"),  # six months before: 2 Nov 2026, today
        person("later", "2027-05-10"),
        person("no-date"),
        person("blank", "  "),
        person("bad", "02/05/2027"),  # stored before dates were checked
        person("number", 20270502),
        person("long-ago", "2026-01-01"),  # its day was before the campaign existed
        {"id": "other", "email": "o@example.test", "properties": {"plan": "free"}},
    )
    await add_dated(services, audience="plan != free")
    campaigns = manager(services)
    first = await run_now(campaigns)
    assert counts(first) == (5, 1, 4, {"bad_date": 2, "no_date": 2})
    assert await invited(services, first) == {"due": ("scheduled", None)}
    assert await campaigns.count_audience(first.id or 0) == AudienceCount(
        matched=7, due=5, next_due=datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    )
    async with UnitOfWork(services.sessions) as uow:
        invitation = (await uow.session.execute(select(Invitation))).scalar_one()
        campaign = await uow.campaigns.get_by_name("renewals")
    assert campaign is not None and invitation.properties == {"campaign": "renewals"}
    assert invitation.idempotency_key is not None
    assert invitation.idempotency_key.startswith(f"campaign:{campaign.id}.")
    assert invitation.idempotency_key.endswith(f":date:{invitation.contact_id}:2027-05-02")

    # The same day again: the unchanged date gets no second survey.
    clock.advance(hours=1)
    again = await run_now(campaigns)
    assert counts(again) == (4, 0, 4, {"bad_date": 2, "no_date": 2})
    assert await invited(services, again) == {}

    # A year on the renewal moved a year too: the next renewal gets its own survey.
    clock.advance(days=365)
    await set_renewal(services, "due", "2028-05-02")
    await set_renewal(services, "later", "2027-05-10")  # unchanged: its day passed unasked
    year_on = await run_now(campaigns)
    assert await invited(services, year_on) == {
        "due": ("scheduled", None),
        "later": ("skipped", "missed"),  # 10 Nov 2026 fell out of the grace while nothing ran
    }
    assert counts(year_on) == (6, 1, 5, {"bad_date": 2, "missed": 1, "no_date": 2})


async def test_month_ends_and_leap_days(services: Services, clock: FakeClock) -> None:
    await nps(services, throttle_days=0)
    clock.now = datetime(2027, 2, 27, 10, 0, tzinfo=UTC)
    await add_dated(services, name="welcome", property="signup_date", after="1mo", grace_days=0)
    await add_contacts(
        services,
        *(
            {"id": f"jan{day}", "email": f"jan{day}@example.test",
             "properties": {"signup_date": f"2027-01-{day}"}}
            for day in (27, 28, 29, 30, 31)
        ),
        {"id": "leap", "email": "leap@example.test", "properties": {"signup_date": "2028-01-31"}},
        {"id": "leap-30", "email": "l30@example.test", "properties": {"signup_date": "2028-01-30"}},
    )  # fmt: skip
    campaigns = manager(services)
    clock.now = datetime(2027, 2, 27, 11, 0, tzinfo=UTC)
    assert set(await invited(services, await run_now(campaigns, "welcome"))) == {"jan27"}
    clock.now = datetime(2027, 2, 28, 9, 0, tzinfo=UTC)  # 31 Jan + 1 month: 28 Feb
    feb28 = await run_now(campaigns, "welcome")
    assert set(await invited(services, feb28)) == {"jan28", "jan29", "jan30", "jan31"}
    counted = await campaigns.count_audience(feb28.id or 0)
    assert counted is not None and counted.next_due == datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    clock.now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert await invited(services, await run_now(campaigns, "welcome")) == {}

    clock.now = datetime(2028, 2, 28, 9, 0, tzinfo=UTC)  # a leap year: not yet
    assert await invited(services, await run_now(campaigns, "welcome")) == {}
    clock.now = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    leap_day = await run_now(campaigns, "welcome")
    assert set(await invited(services, leap_day)) == {"leap", "leap-30"}


async def test_a_leap_day_renewal_a_year_ahead(services: Services, clock: FakeClock) -> None:
    await nps(services, throttle_days=0)
    clock.now = datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    await add_dated(services, before="12mo")
    await add_contacts(services, person("leap", "2028-02-29"), person("eve", "2028-02-28"))
    run = await run_now(manager(services))
    assert set(await invited(services, run)) == {"leap", "eve"}  # 29 Feb - 1 year: 28 Feb


async def test_each_contact_s_day_is_in_their_own_zone(
    services: Services, clock: FakeClock
) -> None:
    """A check at 23:30 UTC is on 3 November in Auckland and 2 November in Los Angeles; one at
    00:30 UTC is on 3 November in Tokyo and still 2 November in Honolulu."""
    await nps(services, throttle_days=0)
    clock.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    await add_dated(services, name="late", at="23:30", after="0d", grace_days=0)
    await add_dated(services, name="early", at="00:30", after="0d", grace_days=0)
    late, early = "late-", "early-"
    await add_contacts(
        services,
        person(late + "auckland-3", "2026-11-03", timezone="Pacific/Auckland"),
        person(late + "auckland-4", "2026-11-04", timezone="Pacific/Auckland"),
        person(late + "la-2", "2026-11-02", timezone="America/Los_Angeles"),
        person(late + "la-3", "2026-11-03", timezone="America/Los_Angeles"),
        person(late + "utc-2", "2026-11-02"),  # no zone: the campaign's (UTC)
        person(early + "tokyo-3", "2026-11-03", timezone="Asia/Tokyo"),
        person(early + "honolulu-2", "2026-11-02", timezone="Pacific/Honolulu"),
        person(early + "honolulu-3", "2026-11-03", timezone="Pacific/Honolulu"),
    )
    campaigns = manager(services)
    async with UnitOfWork(services.sessions) as uow:  # each campaign sees its own contacts
        for name in ("late", "early"):
            campaign = await uow.campaigns.get_by_name(name)
            assert campaign is not None
            definition = dict(campaign.definition)
            definition["audience"] = f"group = {name}"
            campaign.definition = definition
        rows = (await uow.session.execute(select(Contact))).scalars().all()
        for contact in rows:
            contact.properties = {**contact.properties, "group": contact.external_id.split("-")[0]}
        await uow.commit()

    clock.now = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    run = await run_now(campaigns, "late")
    assert set(await invited(services, run)) == {
        "late-auckland-3",  # 12:30 on 3 Nov there
        "late-la-2",  # 15:30 on 2 Nov there
        "late-utc-2",
    }
    counted = await campaigns.count_audience(run.id or 0)
    # Los Angeles's 3 Nov: at the next 23:30 UTC check; Auckland's 4 Nov: the same one.
    assert counted is not None
    assert counted.next_due == datetime(2026, 11, 3, 23, 30, tzinfo=UTC)

    clock.now = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)
    run = await run_now(campaigns, "early")
    assert set(await invited(services, run)) == {
        "early-tokyo-3",  # 09:30 on 3 Nov there
        "early-honolulu-2",  # 14:30 on 2 Nov there
    }
    counted = await campaigns.count_audience(run.id or 0)
    assert counted is not None
    assert counted.next_due == datetime(2026, 11, 4, 0, 30, tzinfo=UTC)  # Honolulu's 3 Nov


async def test_a_date_edited_between_runs(services: Services, clock: FakeClock) -> None:
    await nps(services, throttle_days=0)
    clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    await add_dated(services, after="0d", grace_days=2)
    await add_contacts(services, person("ann", "2026-11-20"), person("bob", "2026-11-20"))
    campaigns = manager(services)

    async def day(number: int) -> dict[str, tuple[str, str | None]]:
        clock.now = datetime(2026, 11, number, 9, 0, tzinfo=UTC)
        return await invited(services, await run_now(campaigns))

    assert await day(2) == {}
    await set_renewal(services, "ann", "2026-11-03")  # moved to tomorrow: fires tomorrow
    await set_renewal(services, "bob", "2026-10-01")  # moved into the past: never due
    assert await day(3) == {"ann": ("scheduled", None)}
    await set_renewal(services, "ann", "2026-11-06")  # a new date: its own survey, on its day
    await set_renewal(services, "bob", "2026-11-02")  # yesterday: within the grace, caught up
    assert await day(4) == {"bob": ("scheduled", None)}
    assert await day(5) == {}
    assert await day(6) == {"ann": ("scheduled", None)}
    await set_renewal(services, "ann", "2026-11-03")  # back to a date that had its survey
    await set_renewal(services, "bob", None)  # cleared: counted as without a date
    clock.now = datetime(2026, 11, 7, 9, 0, tzinfo=UTC)
    seventh = await run_now(campaigns)
    assert await invited(services, seventh) == {}
    assert counts(seventh) == (1, 0, 1, {"no_date": 1})


@pytest.fixture
async def scheduler(services: Services) -> AsyncIterator[list[CampaignScheduler]]:
    made: list[CampaignScheduler] = []
    yield made
    for each in made:
        await each.stop()


def new_scheduler(services: Services, made: list[CampaignScheduler]) -> CampaignScheduler:
    """A scheduler as a freshly started process has it."""
    made.append(
        CampaignScheduler(
            sessions=services.sessions,
            clock=services.clock,
            channels=ALL_CHANNELS,
            suppression=services.suppression,
            holder=default_holder(),
        )
    )
    return made[-1]


async def scheduled_runs(services: Services) -> list[CampaignRun]:
    async with UnitOfWork(services.sessions) as uow:
        stmt = select(CampaignRun).order_by(CampaignRun.scheduled_for)
        return list((await uow.session.execute(stmt)).scalars().all())


async def test_restarts_and_missed_days_catch_up_within_the_grace(
    services: Services, clock: FakeClock, scheduler: list[CampaignScheduler]
) -> None:
    await nps(services, throttle_days=0)
    await add_dated(services, after="0d", grace_days=2)  # created Mon 2 Nov 12:00 UTC
    await add_contacts(
        services,
        *(person(f"nov{day:02d}", f"2026-11-{day:02d}") for day in range(2, 13)),
        person("unreachable", "2026-11-05", email=None),
    )
    first = new_scheduler(services, scheduler)
    clock.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert len(await first.tick()) == 1
    (tuesday,) = await scheduled_runs(services)
    # 2 Nov was after the campaign was created: caught up the next morning.
    assert set(await invited(services, tuesday)) == {"nov02", "nov03"}
    await first.stop()

    # Down from Tuesday until Tuesday a week later, 10:00: one run, for 09:00 that day.
    clock.now = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
    restarted = new_scheduler(services, scheduler)
    assert len(await restarted.tick()) == 1
    later = (await scheduled_runs(services))[-1]
    assert later.scheduled_for == datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    assert await invited(services, later) == {
        "nov04": ("skipped", "missed"),
        "nov05": ("skipped", "missed"),
        "nov06": ("skipped", "missed"),
        "nov07": ("skipped", "missed"),
        "nov08": ("scheduled", None),  # two days ago: within the grace
        "nov09": ("scheduled", None),
        "nov10": ("scheduled", None),
    }
    assert counts(later) == (8, 3, 5, {"missed": 5})  # the unreachable one: no row, counted

    # Another restart the same day makes no second run; the next morning's run goes on.
    await restarted.stop()
    again = new_scheduler(services, scheduler)
    assert await again.tick() == []
    clock.now = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
    assert len(await again.tick()) == 1
    wednesday = (await scheduled_runs(services))[-1]
    assert await invited(services, wednesday) == {"nov11": ("scheduled", None)}
    assert counts(wednesday) == (1, 1, 0, {})


async def test_a_resumed_run_creates_nothing_twice(services: Services, clock: FakeClock) -> None:
    await nps(services, throttle_days=0)
    await add_dated(services, after="0d")
    await add_contacts(services, *(person(f"c{n}", "2026-11-02") for n in range(7)))
    campaigns = manager(services, page_size=2, run_lease_seconds=60)
    started = await campaigns.run_now("renewals")
    pages = 0

    def crash_after_two_pages(done: int, total: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise RuntimeError("the process died")

    with pytest.raises(RuntimeError):
        await campaigns.execute_run(started.id or 0, crash_after_two_pages)
    assert len(await invited(services, started)) == 4
    clock.advance(seconds=61)
    (resumed,) = await campaigns.execute_pending_runs(clock())
    assert counts(resumed) == (7, 7, 0, {})
    async with UnitOfWork(services.sessions) as uow:
        await uow.session.execute(
            update(CampaignRun).where(CampaignRun.id == started.id).values(status="pending")
        )
        await uow.commit()
    again = await campaigns.execute_run(started.id or 0)
    assert again is not None and again.invited == 7
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 7}


async def test_opt_outs_throttle_sampling_and_quiet_hours_still_apply(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=30, timezone="UTC")
    await add_survey(services)  # support-csat, to make someone throttled
    await add_dated(services, after="0d")
    await add_contacts(
        services,
        person("opted", "2026-11-02"),
        person("fine", "2026-11-02"),
        person("throttled", "2026-11-02"),
        {"id": "night", "phone": "+14155550101", "timezone": "Asia/Tokyo",
         "properties": {"renewal_date": "2026-11-02"}},  # 21:00 in Tokyo: SMS waits
    )  # fmt: skip
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("opted")
        assert contact is not None
        await uow.opt_outs.add(contact.id or 0, "email", "keyword")
        await uow.commit()
    await fire(services, contact={"external_id": "throttled"})  # surveyed today
    campaigns = manager(services)
    run = await run_now(campaigns)
    assert await invited(services, run) == {
        "opted": ("skipped", "opted_out"),
        "fine": ("scheduled", None),
        "throttled": ("skipped", "throttled"),
        "night": ("scheduled", None),
    }
    async with UnitOfWork(services.sessions) as uow:
        night = (
            await uow.session.execute(
                select(Invitation)
                .join(Contact, Contact.id == Invitation.contact_id)
                .where(Contact.external_id == "night", Invitation.campaign_run_id == run.id)
            )
        ).scalar_one()
    assert night.send_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert counts(run) == (4, 2, 2, {"opted_out": 1, "throttled": 1})
    # A skipped date had its turn: the next day's catch-up does not ask again.
    clock.advance(days=1)
    assert await invited(services, await run_now(campaigns)) == {}


async def test_sampling_is_per_date(services: Services, clock: FakeClock) -> None:
    await nps(services, throttle_days=0, sample_rate=0.0)
    await add_dated(services, after="0d")
    await add_contacts(services, person("ann", "2026-11-02"))
    campaigns = manager(services)
    assert await invited(services, await run_now(campaigns)) == {"ann": ("skipped", "sampled_out")}
    clock.advance(days=1)
    assert await invited(services, await run_now(campaigns)) == {}  # not drawn again


async def test_the_list_and_next_run_of_a_date_campaign(
    services: Services, clock: FakeClock
) -> None:
    await nps(services)
    await add_dated(services, at="08:30", timezone="Europe/Helsinki", before="6mo")
    campaigns = manager(services)
    (view,) = await campaigns.list_campaigns()
    assert view.spec.cadence_text() == "6 months before renewal_date"
    assert view.next_fire_at == datetime(2026, 11, 3, 6, 30, tzinfo=UTC)  # 08:30 in Helsinki
    assert view.campaign.definition["relative_to"] == {
        "property": "renewal_date",
        "before": "6mo",
        "after": None,
        "grace_days": 3,
    }
    # Switched to a fixed schedule and back, it keeps its history: still once per date.
    await add_contacts(services, person("due", "2027-05-02"))
    first = await run_now(campaigns)
    assert set(await invited(services, first)) == {"due"}
    await campaigns.update("renewals", spec(name="renewals", cron="0 9 * * *"))
    await campaigns.update("renewals", spec(name="renewals", relative_to=dated()))
    clock.advance(minutes=5)
    assert await invited(services, await run_now(campaigns)) == {}


async def test_a_new_campaign_of_a_deleted_one_s_name_starts_afresh(
    services: Services, clock: FakeClock
) -> None:
    await nps(services, throttle_days=0)
    await add_dated(services, after="0d")
    await add_contacts(services, person("ann", "2026-11-02"))
    campaigns = manager(services)
    assert set(await invited(services, await run_now(campaigns))) == {"ann"}
    await campaigns.delete("renewals")
    clock.advance(seconds=1)
    await add_dated(services, after="0d")  # SQLite may give it the deleted one's id
    assert set(await invited(services, await run_now(campaigns))) == {"ann"}
