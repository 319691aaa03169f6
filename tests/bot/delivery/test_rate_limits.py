"""Per-channel rate limits: their windows, one budget for every worker, rates below one a second."""

from __future__ import annotations

import asyncio

from bot.delivery.rate_limits import RateLimit
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, fire, invitation


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
