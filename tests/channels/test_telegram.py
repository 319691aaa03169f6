"""The Telegram adapter alone: provider errors mapped, the rate limiter, signed link payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels.base import OutboundMessage, PermanentSendError, TransientSendError
from channels.telegram import LinkPayloads, RateLimiter, TelegramChannel
from tests.standins.telegram_api import BotApiStandIn

TOKEN = "123456:TEST"


async def test_provider_errors_map_to_channel_errors() -> None:
    async with BotApiStandIn() as api:
        channel = TelegramChannel(
            token=TOKEN, api_base=api.url, limiter=RateLimiter(per_chat_burst=20)
        )
        await channel.start()
        try:
            message = OutboundMessage(channel="telegram", address="1", text="hi")
            cases: list[tuple[int, str, type[Exception], bool]] = [
                (400, "Bad Request: chat not found", PermanentSendError, True),
                (400, "Bad Request: message text is empty", PermanentSendError, False),
                (403, "Forbidden: bot was blocked by the user", PermanentSendError, True),
                (502, "Bad Gateway", TransientSendError, False),
            ]
            for status, description, kind, suppress in cases:
                api.fail(status, description)
                with pytest.raises(kind) as caught:
                    await channel.send(message)
                assert getattr(caught.value, "suppress", False) is suppress
            await api.stop()  # nobody listening: a network error, worth retrying
            with pytest.raises(TransientSendError):
                await channel.send(message)
        finally:
            await channel.close()


async def test_rate_limiter_spaces_messages() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep, max_chats=2)
    times = []
    for _ in range(5):
        await limiter.acquire("a")
        times.append(round(now[0], 3))
    assert times == [0.0, 0.033, 0.067, 1.0, 2.0]  # 1/30 s apart; a burst of 3 per chat, then 1/s
    waits.clear()
    for chat in ("b", "c", "d"):
        now[0] += 5
        await limiter.acquire(chat)
    assert waits == [] and len(limiter._chats) <= 2  # idle chats are forgotten


def test_link_payload_is_short_signed_and_expires() -> None:
    links = LinkPayloads("x" * 32)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    payload = links.sign(2**63 - 1, now + timedelta(days=7))
    assert len(payload) <= 64
    assert links.verify(payload, now=now) == 2**63 - 1
    with pytest.raises(Exception, match="expired"):
        links.verify(payload, now=now + timedelta(days=7))
    with pytest.raises(Exception, match="not valid"):
        LinkPayloads("y" * 32).verify(payload, now=now)
