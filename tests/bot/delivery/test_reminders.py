"""Reminders: to people who have not answered, on the same channel, within quiet hours, counted."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, answer, fire, invitation, sms_services

PHONE = {"external_id": "p1", "phone": "+14155550123", "locale": "en"}


async def test_one_reminder_after_48_hours_with_the_question(
    database_url: str, clock: FakeClock
) -> None:
    services, channel = await sms_services(database_url, clock)
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=PHONE)
        assert await services.outbox.send_due() == 1
        sent = await invitation(services, result.invitation.id)
        assert sent.remind_at == datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
        clock.advance(hours=47, minutes=59)
        assert await services.outbox.send_due() == 0
        clock.advance(minutes=1)
        assert await services.outbox.send_due() == 1
        question, reminder = channel.sent
        assert reminder.address == question.address == "+14155550123"
        assert reminder.text.startswith("A quick reminder")
        assert question.text in reminder.text
        assert reminder.choices == question.choices
        reminded = await invitation(services, result.invitation.id)
        assert (reminded.reminders_sent, reminded.remind_at, reminded.status) == (1, None, "sent")
        clock.advance(hours=72)  # the default is one reminder
        assert await services.outbox.send_due() == 0
        async with UnitOfWork(services.sessions) as uow:
            transcript = await uow.messages.transcript(result.invitation.id)
        assert [m.text[:16] for m in transcript] == [question.text[:16], "A quick reminder"]
    finally:
        await services.close()


async def test_no_reminder_once_answered(database_url: str, clock: FakeClock) -> None:
    services, channel = await sms_services(database_url, clock)
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        clock.advance(hours=30)
        await answer(services, result.invitation.id, "2")  # a score, then silence
        clock.advance(hours=30)
        assert await services.outbox.send_due() == 0
        assert len(channel.sent) == 1
    finally:
        await services.close()


async def test_several_reminders_stop_before_the_survey_closes(
    database_url: str, clock: FakeClock
) -> None:
    services, channel = await sms_services(database_url, clock)
    try:
        await add_survey(services, reminders=3, remind_after_hours=24, expires_after_hours=60)
        await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        for _ in range(5):
            clock.advance(hours=24)
            await services.outbox.send_due()
        # Reminders at 24 h and 48 h; the third (72 h) would come after the survey closed (60 h).
        assert [m.text.startswith("A quick reminder") for m in channel.sent] == [
            False,
            True,
            True,
        ]
    finally:
        await services.close()


async def test_a_reminder_due_at_night_waits_for_the_morning(
    database_url: str, clock: FakeClock
) -> None:
    services, channel = await sms_services(database_url, clock)
    try:
        await add_survey(services, remind_after_hours=6, timezone="Europe/Helsinki")
        # 16:00 in Helsinki (14:00 UTC): the reminder would be due at 22:00, in quiet hours.
        clock.now = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        sent = await invitation(services, result.invitation.id)
        assert sent.remind_at == datetime(2026, 11, 3, 7, 0, tzinfo=UTC)  # 09:00 in Helsinki
        clock.now = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
        assert await services.outbox.send_due() == 0
        clock.now = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
        assert await services.outbox.send_due() == 1
        assert len(channel.sent) == 2
    finally:
        await services.close()


async def test_opting_out_stops_the_reminder(database_url: str, clock: FakeClock) -> None:
    services, channel = await sms_services(database_url, clock)
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        async with UnitOfWork(services.sessions) as uow:
            await uow.opt_outs.add(result.invitation.contact_id, "sms", source="test")
            await uow.commit()
        clock.advance(hours=48)
        assert await services.outbox.send_due() == 1  # claimed, then dropped
        assert len(channel.sent) == 1
        assert (await invitation(services, result.invitation.id)).remind_at is None
        clock.advance(hours=1)
        assert await services.outbox.send_due() == 0
    finally:
        await services.close()


async def test_web_chats_and_surveys_without_reminders_get_none(
    services: Services, clock: FakeClock
) -> None:
    await add_survey(services)
    await add_survey(services, key="quiet", reminders=0)
    web = await fire(services)
    await services.outbox.send_due()
    assert (await invitation(services, web.invitation.id)).remind_at is None
    clock.advance(hours=100)
    assert await services.outbox.send_due() == 0


async def test_a_failed_reminder_retries_and_a_refused_one_stops(
    database_url: str, clock: FakeClock
) -> None:
    from channels.base import PermanentSendError, TransientSendError

    channel = ScriptedChannel(None, TransientSendError("busy"), PermanentSendError("blocked"))
    services = await services_with(database_url, clock, {"sms": channel}, sms_rate_per_second=0)
    try:
        await add_survey(services, reminders=2, remind_after_hours=24)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        clock.advance(hours=24)
        assert await services.outbox.send_due() == 1  # transient: tried again soon
        retry = await invitation(services, result.invitation.id)
        assert retry.reminders_sent == 0 and retry.remind_at is not None
        assert retry.remind_at > clock.now
        clock.now = retry.remind_at
        assert await services.outbox.send_due() == 1  # permanent: no more reminders
        stopped = await invitation(services, result.invitation.id)
        assert (stopped.reminders_sent, stopped.remind_at) == (0, None)
        assert stopped.status == "sent"  # the question itself still stands
        assert len(channel.sent) == 3
    finally:
        await services.close()
