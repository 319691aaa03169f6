"""Campaign schedules: crontab weekdays and errors, and the newest fire time after long downtime."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.campaigns.schedule import crontab_trigger, newest_fire_time


def test_newest_fire_time_after_a_year_of_downtime_is_cheap() -> None:
    every_minute = crontab_trigger("* * * * *", UTC)
    after = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime(2026, 1, 1, 12, 34, 56, tzinfo=UTC)
    started = time.perf_counter()
    assert newest_fire_time(every_minute, after, now) == datetime(2026, 1, 1, 12, 34, tzinfo=UTC)
    assert time.perf_counter() - started < 0.5
    quarterly = crontab_trigger("0 9 1 */3 *", UTC)
    assert newest_fire_time(quarterly, after, now) == datetime(2026, 1, 1, 9, tzinfo=UTC)
    december = datetime(2025, 12, 31, tzinfo=UTC)
    assert newest_fire_time(quarterly, after, december) == datetime(2025, 10, 1, 9, tzinfo=UTC)
    assert newest_fire_time(quarterly, datetime(2025, 10, 1, 9, tzinfo=UTC), december) is None


def test_crontab_weekdays_and_errors() -> None:
    monday = datetime(2026, 11, 2, tzinfo=UTC)
    fire = crontab_trigger("0 9 * * 1-5", UTC).get_next_fire_time(None, monday)
    assert fire == datetime(2026, 11, 2, 9, tzinfo=UTC)
    sunday = crontab_trigger("0 9 * * 7", UTC).get_next_fire_time(None, monday)
    assert sunday.weekday() == 6
    for bad in ("0 9 * *", "0 9 * * 8", "0 9 * * 5-1", "99 9 * * *"):
        with pytest.raises(ValueError):
            crontab_trigger(bad, UTC)
