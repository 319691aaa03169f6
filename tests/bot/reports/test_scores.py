"""Score reports: the funnel counts each stage, from triggered to completed."""

from __future__ import annotations

from typing import Any

from bot.reports.scores import build_report
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock
from tests.support import add_survey, answer, fire, sms_services


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
            "reminded": 4,
            "opened": 0,
            "answered": 2,
            "answered_after_reminder": 1,
            "completed": 1,
            "response_rate": 0.4,
        }
    finally:
        await services.close()
