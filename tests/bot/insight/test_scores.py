"""Score reports: the funnel counts each stage; groups by field or property, unknown names refused."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import Unprocessable
from bot.insight.scores import build_report
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock
from tests.support import add_survey, answer, deliver, fire, sms_services


async def funnel_of(services: Services, survey: str) -> dict[str, Any]:
    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key(survey)
        assert row is not None
        report = await build_report(uow, row)
    funnel: dict[str, Any] = report["funnel"]
    return funnel


async def test_the_funnel_counts_each_stage(database_url: str, clock: FakeClock) -> None:
    services, _channel = await sms_services(database_url, clock)
    try:
        await add_survey(services, sample_rate=1.0)
        people = [{"external_id": f"p{n}", "phone": f"+1415555{n:04d}"} for n in range(5)]
        results = [await fire(services, channel="sms", contact=p) for p in people]
        again = await fire(services, channel="sms", contact=people[0], properties={"t": 2})
        assert again.invitation.status == "skipped"  # throttled
        await services.outbox.send_due()
        await answer(services, results[0].invitation.id, "5")  # answered at once
        clock.advance(hours=48)
        await services.outbox.send_due()  # reminders to the four others
        await answer(services, results[1].invitation.id, "4")
        await answer(services, results[1].invitation.id, "Quick and kind")
        funnel = await funnel_of(services, "support-csat")
        assert funnel == {
            "triggered": 6,
            "skipped": {"throttled": 1},
            "cancelled": 0,
            "failed": 0,
            "pending": 0,
            "sent": 5,
            "delivered": 5,
            "reminded": 4,
            "opened": 0,
            "answered": 2,
            "answered_after_reminder": 1,
            "commented": 1,
            "completed": 1,
            "response_rate": 0.4,
            "reached": {"sms": 5},
            "fell_back": 0,
            "channel_failures": {},
        }
    finally:
        await services.close()


async def report_of(services: Services, survey: str, **options: Any) -> dict[str, Any]:
    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key(survey)
        assert row is not None
        return await build_report(uow, row, **options)


async def _answered(services: Services, agent: str | None, *texts: str) -> None:
    """One web conversation, answered with `texts`; `agent` is a trigger property if given."""
    contact = {"external_id": f"c-{agent}-{texts[0]}"}
    properties = {"agent": agent} if agent else {}
    result = await fire(services, contact=contact, properties=properties)
    await deliver(services)
    for text in texts:
        await answer(services, result.invitation.id, text)


async def test_group_by_reason_and_unknown_names(services: Services) -> None:
    await add_survey(services, reasons=["Slow reply", "Not solved"], throttle_days=0)
    await _answered(services, "Ana", "1", "1")  # score 1, reason "Slow reply"
    await _answered(services, "Ben", "2", "2")  # score 2, reason "Not solved"
    await _answered(services, None, "5")  # no reason asked after a high score, no agent
    by_reason = await report_of(services, "support-csat", group_by=("reason",))
    assert [(g["group"]["reason"], g["responses"]) for g in by_reason["groups"]] == [
        ("Not solved", 1),
        ("Slow reply", 1),
        (None, 1),
    ]
    by_agent = await report_of(services, "support-csat", group_by=("agent",))
    assert [g["group"]["agent"] for g in by_agent["groups"]] == ["Ana", "Ben", None]
    for unknown in ("agnet", "no such field!"):
        with pytest.raises(Unprocessable) as refused:
            await report_of(services, "support-csat", group_by=(unknown,))
        assert refused.value.field == "group_by"
        assert refused.value.message.startswith(f"cannot group by {unknown!r}")
        assert (
            "channel, reason, day, week, month, quarter, year or a property: agent"
            in refused.value.message
        )


async def test_a_survey_without_properties_lists_the_fields(services: Services) -> None:
    await add_survey(services)
    with pytest.raises(Unprocessable) as refused:
        await report_of(services, "support-csat", group_by=("agent",))
    assert (
        "group by channel, reason, day, week, month, quarter, year (no response has properties)"
        in (refused.value.message)
    )


async def test_property_names_are_listed_in_order(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    for n, props in enumerate([{"plan": "pro", "agent": "Ana"}, {"region": "EU"}, {}]):
        result = await fire(services, contact={"external_id": f"p{n}"}, properties=props)
        await deliver(services)
        await answer(services, result.invitation.id, "5")
    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key("support-csat")
        assert row is not None
        assert await uow.reports.property_names(row.id or 0) == ["agent", "plan", "region"]
        assert await uow.reports.property_names(row.id or 0, limit=2) == ["agent", "plan"]
        assert await uow.reports.has_property(row.id or 0, "region")
        assert not await uow.reports.has_property(row.id or 0, "seats")
