"""An invitation's timeline: the question, reminders, retries and failures, as they happened."""

from __future__ import annotations

from bot.invitations.timeline import InvitationDetail, invitation_detail
from bot.runtime.services import Services
from channels.base import PermanentSendError, TransientSendError
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, fire, sms_services

PHONE = {"external_id": "p1", "phone": "+14155550123", "locale": "en"}


async def detail(services: Services, invitation_id: str) -> InvitationDetail:
    async with UnitOfWork(services.sessions) as uow:
        return await invitation_detail(uow, invitation_id)


async def test_question_and_reminder(database_url: str, clock: FakeClock) -> None:
    services, _ = await sms_services(database_url, clock)
    try:
        await add_survey(services)
        fired = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        clock.advance(hours=48)
        await services.outbox.send_due()
        found = await detail(services, fired.invitation.id)
        assert (found.survey, found.contact) == ("support-csat", "p1")
        assert (found.invitation.status, found.invitation.reminders_sent) == ("sent", 1)
        assert [e.event for e in found.timeline] == ["created", "sent", "reminder"]
        assert found.timeline[2].text is not None
        assert found.timeline[2].text.startswith("A quick reminder")
        assert found.timeline[2].at == clock.now  # 48 hours after the question
    finally:
        await services.close()


async def test_a_retry_then_a_failure(database_url: str, clock: FakeClock) -> None:
    channel = ScriptedChannel(
        TransientSendError("provider timed out"), PermanentSendError("number blocked")
    )
    services = await services_with(database_url, clock, {"sms": channel}, sms_rate_per_second=0)
    try:
        await add_survey(services)
        fired = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        retrying = await detail(services, fired.invitation.id)
        assert (retrying.invitation.status, retrying.invitation.attempts) == ("scheduled", 1)
        assert retrying.invitation.last_error == "provider timed out"
        assert [e.event for e in retrying.timeline] == ["created"]
        clock.advance(minutes=10)
        await services.outbox.send_due()
        failed = await detail(services, fired.invitation.id)
        assert (failed.invitation.status, failed.invitation.attempts) == ("failed", 2)
        assert [(e.event, e.text) for e in failed.timeline][-1] == (
            "ended",
            "failed: number blocked",
        )
    finally:
        await services.close()
