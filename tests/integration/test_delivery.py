"""Delivery at scale: sends interrupted by a dead worker are not repeated; rate limits are shared."""

from __future__ import annotations

import asyncio

from bot.delivery.rate_limits import RateLimit
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, fire, invitation

PHONE = {"external_id": "p1", "phone": "+14155550123"}


async def test_a_send_started_by_a_dead_worker_is_not_repeated(
    database_url: str, clock: FakeClock
) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel})
    try:
        await add_survey(services)
        started = await fire(services, channel="sms", contact=PHONE)
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
        result = await fire(services, channel="sms", contact=PHONE)
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


def test_rate_limit_windows() -> None:
    assert RateLimit.per_second(30) == RateLimit(seconds=1, per_window=30)
    assert RateLimit.per_second(0.5) == RateLimit(seconds=2, per_window=1)
    assert RateLimit.per_second(2.5) == RateLimit(seconds=1, per_window=2)
    assert RateLimit.per_second(0.3) == RateLimit(seconds=4, per_window=1)


async def test_a_channel_rate_limit_is_shared_by_every_worker(
    database_url: str, clock: FakeClock
) -> None:
    first, second = ScriptedChannel(prefix="A"), ScriptedChannel(prefix="B")
    workers = [
        await services_with(database_url, clock, {"sms": first}, sms_rate_per_second=3),
        await services_with(database_url, clock, {"sms": second}, sms_rate_per_second=3),
    ]
    try:
        await add_survey(workers[0])
        for n in range(8):
            contact = {"external_id": f"p{n}", "phone": f"+1415555{n:04d}"}
            await fire(workers[0], channel="sms", contact=contact)
        web = await fire(workers[0], contact={"external_id": "w1"})
        per_second = []
        for _ in range(4):
            before = len(first.sent) + len(second.sent)
            await asyncio.gather(*(w.outbox.send_due() for w in workers))
            await asyncio.gather(*(w.outbox.send_due() for w in workers))
            per_second.append(len(first.sent) + len(second.sent) - before)
            clock.advance(seconds=1)
        assert per_second == [3, 3, 2, 0]
        addresses = [m.address for m in first.sent + second.sent]
        assert len(addresses) == len(set(addresses)) == 8
        assert (await invitation(workers[0], web.invitation.id)).status == "sent"  # no limit
    finally:
        for worker in workers:
            await worker.close()


async def test_a_rate_below_one_per_second_spaces_the_sends(
    database_url: str, clock: FakeClock
) -> None:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel}, sms_rate_per_second=0.5)
    try:
        await add_survey(services)
        for n in range(3):
            await fire(
                services,
                channel="sms",
                contact={"external_id": f"p{n}", "phone": f"+1415555{n:04d}"},
            )
        clock.now = clock.now.replace(second=0)  # the start of a two-second window
        sent = []
        for _ in range(6):
            await services.outbox.send_due()
            sent.append(len(channel.sent))
            clock.advance(seconds=1)
        assert sent == [1, 1, 2, 2, 3, 3]
    finally:
        await services.close()
