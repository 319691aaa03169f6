"""The failed-authentication counter: fixed windows per address, bounded in size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.http.auth_throttle import AuthThrottle

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_an_address_is_held_back_after_the_limit_until_its_window_ends() -> None:
    throttle = AuthThrottle(limit=3, window=timedelta(seconds=60))
    for second in (0, 1, 2):
        assert throttle.retry_after("10.0.0.1", at(second)) is None
        throttle.failed("10.0.0.1", at(second))
    assert throttle.retry_after("10.0.0.1", at(2)) == 58
    assert throttle.retry_after("10.0.0.2", at(2)) is None  # another address is not affected
    assert throttle.retry_after("10.0.0.1", at(59.01)) == 1
    assert throttle.retry_after("10.0.0.1", at(60)) is None
    throttle.failed("10.0.0.1", at(60))  # a new window, counted from one
    assert throttle.retry_after("10.0.0.1", at(61)) is None


def test_memory_is_bounded_and_expired_windows_go_first() -> None:
    throttle = AuthThrottle(limit=1, window=timedelta(seconds=60), max_addresses=100)
    for n in range(1000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}", at(n / 100))
    assert len(throttle) == 100
    # The newest addresses are still held back; the oldest were forgotten to make room.
    assert throttle.retry_after("10.0.3.231", at(10)) is not None
    assert throttle.retry_after("10.0.0.0", at(10)) is None
    throttle.failed("192.0.2.1", at(200))  # every window has ended: all are dropped
    assert len(throttle) == 1
