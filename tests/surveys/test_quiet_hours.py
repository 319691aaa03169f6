"""Quiet hours: next allowed send times across DST changes, windows over midnight, bad settings."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from surveys.definitions import Survey
from surveys.quiet_hours import Window, next_allowed

NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")
DAY = Window.parse("09:00", "20:00")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_inside_the_window_sends_now() -> None:
    noon_ny = utc(2026, 6, 10, 16, 0)  # 12:00 EDT
    assert next_allowed(noon_ny, DAY, NEW_YORK) == noon_ny


def test_before_opening_waits_for_today_and_after_closing_for_tomorrow() -> None:
    assert next_allowed(utc(2026, 6, 10, 11, 0), DAY, NEW_YORK) == utc(
        2026, 6, 10, 13, 0
    )  # 07:00 → 09:00 EDT
    assert next_allowed(utc(2026, 6, 11, 0, 30), DAY, NEW_YORK) == utc(
        2026, 6, 11, 13, 0
    )  # 20:30 → 09:00 EDT
    assert next_allowed(utc(2026, 6, 11, 0, 0), DAY, NEW_YORK) == utc(
        2026, 6, 11, 13, 0
    )  # 20:00 is closed


def test_fall_back_uses_the_new_offset() -> None:
    # New York leaves DST on 2026-11-01: 09:00 that morning is EST (UTC-5), not EDT.
    evening_before = utc(2026, 11, 1, 1, 0)  # 21:00 EDT on Oct 31
    assert next_allowed(evening_before, DAY, NEW_YORK) == utc(2026, 11, 1, 14, 0)


def test_spring_forward_uses_the_new_offset() -> None:
    # Helsinki enters DST on 2026-03-29: 09:00 that morning is EEST (UTC+3).
    evening_before = utc(2026, 3, 28, 19, 0)  # 21:00 EET
    assert next_allowed(evening_before, DAY, HELSINKI) == utc(2026, 3, 29, 6, 0)


def test_an_opening_inside_the_spring_forward_gap_moves_past_it() -> None:
    # 02:30 does not exist in New York on 2026-03-08 (02:00 jumps to 03:00).
    window = Window.parse("02:30", "05:00")
    one_am = utc(2026, 3, 8, 6, 0)  # 01:00 EST
    opened = next_allowed(one_am, window, NEW_YORK)
    assert opened == utc(2026, 3, 8, 7, 30)  # 03:30 EDT: the first real moment after the gap
    assert window.allows(opened.astimezone(NEW_YORK).time())


def test_a_window_across_midnight() -> None:
    night = Window.parse("22:00", "06:00")
    assert night.allows(datetime(2026, 1, 1, 23, 0).time()) and night.allows(
        datetime(2026, 1, 1, 5, 0).time()
    )
    assert next_allowed(utc(2026, 1, 15, 12, 0), night, ZoneInfo("UTC")) == utc(2026, 1, 15, 22, 0)


def test_no_window_means_any_time() -> None:
    three_am = utc(2026, 1, 15, 3, 0)
    assert next_allowed(three_am, None, NEW_YORK) == three_am


@pytest.mark.parametrize(
    "bad",
    [
        {"quiet_hours": {"sms": ["25:00", "10:00"]}},
        {"quiet_hours": {"sms": ["09:00", "09:00"]}},
        {"timezone": "Mars/Base"},
    ],
)
def test_invalid_timing_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Survey.model_validate({"key": "s", "metric": "csat", **bad})
