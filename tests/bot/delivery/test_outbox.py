"""The outbox: due work goes out once, leases survive crashes and dead workers, failures retry."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime.services import Services
from channels.base import PermanentSendError, TransientSendError
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, at, fire, invitation

PHONE = {"external_id": "p1", "phone": "+14155550123", "locale": "en"}
PHONE_WITHOUT_LOCALE = {"external_id": "p1", "phone": "+14155550123"}
NY_CONTACT = {"external_id": "ny-1", "phone": "+12125550123", "timezone": "America/New_York"}


async def test_due_invitation_is_sent_once_with_the_question(services: Services) -> None:
    await add_survey(services, question="How did {agent} do on ticket {ticket_id}?")
    result = await fire(services, properties={"agent": "Ana", "ticket_id": "T-7"})
    assert await services.outbox.send_due() == 1
    assert await services.outbox.send_due() == 0
    sent = await invitation(services, result.invitation.id)
    assert sent.status == "sent" and sent.provider_message_id and sent.expires_at
    async with UnitOfWork(services.sessions) as uow:
        transcript = await uow.messages.transcript(sent.id)
    assert [m.direction for m in transcript] == ["out"]
    assert transcript[0].text.startswith("How did Ana do on ticket T-7?")


async def test_expired_lease_is_claimed_again(services: Services, clock: FakeClock) -> None:
    await add_survey(services)
    result = await fire(services)
    async with UnitOfWork(services.sessions) as uow:  # a worker claims, then dies
        assert await uow.invitations.claim_due(clock.now, clock.now, 10) == [result.invitation.id]
        await uow.commit()
    assert await services.outbox.send_due() == 0  # the lease still holds
    clock.advance(seconds=1)
    assert await services.outbox.send_due() == 1
    assert (await invitation(services, result.invitation.id)).status == "sent"


async def test_transient_failure_retries_with_backoff(database_url: str, clock: FakeClock) -> None:
    channel = ScriptedChannel(TransientSendError("503"), TransientSendError("503"))
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        first = await invitation(services, result.invitation.id)
        assert (first.status, first.attempts, first.last_error) == ("scheduled", 1, "503")
        clock.advance(seconds=2)
        await services.outbox.send_due()
        assert (await invitation(services, result.invitation.id)).status == "scheduled"
        clock.advance(seconds=3)
        assert await services.outbox.send_due() == 0  # second backoff is 4 s
        clock.advance(seconds=1)
        await services.outbox.send_due()
        assert (await invitation(services, result.invitation.id)).status == "sent"
        assert len(channel.sent) == 3
    finally:
        await services.close()


async def test_permanent_failure_stops_and_suppresses(database_url: str, clock: FakeClock) -> None:
    channel = ScriptedChannel(PermanentSendError("21610 opted out", code="21610", suppress=True))
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services, throttle_days=0)
        result = await fire(services, channel="sms", contact=PHONE)
        await services.outbox.send_due()
        failed = await invitation(services, result.invitation.id)
        assert failed.status == "failed"
        clock.advance(hours=1)
        assert await services.outbox.send_due() == 0
        again = await fire(services, channel="sms", contact=PHONE)
        assert (again.invitation.status, again.invitation.skip_reason) == ("skipped", "opted_out")
        assert len(channel.sent) == 1
    finally:
        await services.close()


async def test_sms_question_degrades_to_text_hint(database_url: str, clock: FakeClock) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services, key="nps", metric="nps")
        await fire(services, survey="nps", channel="sms", contact=PHONE)
        await services.outbox.send_due()
        (message,) = channel.sent
        assert message.address == "+14155550123"
        assert [c.value for c in message.choices] == [str(n) for n in range(11)]
        assert (
            message.choices_hint is not None
            and "0" in message.choices_hint
            and "10" in message.choices_hint
        )
    finally:
        await services.close()


async def test_opt_out_after_trigger_cancels_the_send(database_url: str, clock: FakeClock) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=PHONE, delay_seconds=60)
        async with UnitOfWork(services.sessions) as uow:
            await uow.opt_outs.add(result.invitation.contact_id, "sms", source="test")
            await uow.commit()
        clock.advance(seconds=60)
        assert await services.outbox.send_due() == 1
        cancelled = await invitation(services, result.invitation.id)
        assert (cancelled.status, cancelled.skip_reason) == ("cancelled", "opted_out")
        assert channel.sent == []
    finally:
        await services.close()


async def test_per_survey_expiry(services: Services, clock: FakeClock) -> None:
    await add_survey(services, expires_after_hours=2)
    result = await fire(services)
    await services.outbox.send_due()
    sent = await invitation(services, result.invitation.id)
    assert sent.expires_at == clock.now + timedelta(hours=2)


async def test_a_send_started_by_a_dead_worker_is_not_repeated(
    database_url: str, clock: FakeClock
) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services)
        started = await fire(services, channel="sms", contact=PHONE_WITHOUT_LOCALE)
        unstarted = await fire(
            services, channel="sms", contact={"external_id": "p2", "phone": "+14155550124"}
        )
        async with UnitOfWork(services.sessions) as uow:  # a worker claims both, starts one, dies
            claimed = await uow.invitations.claim_due(clock.now, clock.now, 10)
            assert sorted(claimed) == sorted([started.invitation.id, unstarted.invitation.id])
            await uow.invitations.mark_started([started.invitation.id], clock.now)
            await uow.commit()
        assert await services.outbox.send_due() == 0  # the leases still hold
        clock.advance(seconds=1)
        assert await services.outbox.send_due() == 1  # only the one never started
        assert [m.address for m in channel.sent] == ["+14155550124"]
        interrupted = await invitation(services, started.invitation.id)
        assert (interrupted.status, interrupted.skip_reason) == ("failed", "interrupted")
        assert "not sent again" in (interrupted.last_error or "")
        assert (await invitation(services, unstarted.invitation.id)).status == "sent"
        clock.advance(minutes=5)
        assert await services.outbox.send_due() == 0
    finally:
        await services.close()


async def test_a_reminder_started_by_a_dead_worker_counts_as_sent(
    database_url: str, clock: FakeClock
) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services, reminders=2, remind_after_hours=24)
        result = await fire(services, channel="sms", contact=PHONE_WITHOUT_LOCALE)
        await services.outbox.send_due()
        clock.advance(hours=24)
        async with UnitOfWork(services.sessions) as uow:
            claimed = await uow.invitations.claim_reminders(clock.now, clock.now, 10)
            assert claimed == [result.invitation.id]
            await uow.invitations.mark_started(claimed, clock.now)
            await uow.commit()
        clock.advance(seconds=1)
        assert await services.outbox.send_due() == 0
        settled = await invitation(services, result.invitation.id)
        assert (settled.reminders_sent, settled.remind_at, settled.send_started_at) == (
            1,
            None,
            None,
        )
        assert len(channel.sent) == 1  # the question only: the reminder is not repeated
    finally:
        await services.close()


async def test_a_retry_that_lands_in_quiet_hours_is_deferred_again(database_url: str) -> None:
    clock = FakeClock(at(2026, 11, 3, 0, 59, 59))  # 19:59:59 EST, one second before 20:00
    channel = ScriptedChannel(TransientSendError("503"))
    services = await services_with(database_url, clock, {"sms": channel}, retry_base_seconds=3600)
    try:
        await add_survey(services)
        result = await fire(services, channel="sms", contact=NY_CONTACT)
        await services.outbox.send_due()  # fails; the retry an hour later is at night
        clock.advance(hours=1)
        assert await services.outbox.send_due() == 1  # claimed, then deferred, not sent
        deferred = await invitation(services, result.invitation.id)
        assert (deferred.status, deferred.send_at, deferred.attempts) == (
            "scheduled",
            at(2026, 11, 3, 14, 0),
            1,
        )
        assert len(channel.sent) == 1
    finally:
        await services.close()
