"""A digest's periods: the previous local day or ISO week, due at its local time (pure)."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from bot.digests.schedule import latest_due, parse_at
from tests.support import at

HELSINKI = ZoneInfo("Europe/Helsinki")


def test_a_day_is_due_the_next_morning_in_its_time_zone() -> None:
    # 2026-11-03 05:59 UTC is 07:59 in Helsinki: the 2nd is not due yet, the 1st is.
    early = latest_due("daily", time(8, 0), HELSINKI, at(2026, 11, 3, 5, 59))
    assert early.start == date(2026, 11, 1)
    due = latest_due("daily", time(8, 0), HELSINKI, at(2026, 11, 3, 6, 0))
    assert (due.start, due.end) == (date(2026, 11, 2), date(2026, 11, 3))
    assert due.since == at(2026, 11, 1, 22, 0) and due.until == at(2026, 11, 2, 22, 0)
    assert due.before == (at(2026, 10, 31, 22, 0), at(2026, 11, 1, 22, 0))
    assert due.describe() == "Monday 2 November 2026"


def test_a_week_runs_monday_to_monday_and_is_due_on_monday() -> None:
    sunday = latest_due("weekly", time(9, 0), HELSINKI, at(2026, 11, 8, 20, 0))
    assert sunday.start == date(2026, 10, 26)
    monday_early = latest_due("weekly", time(9, 0), HELSINKI, at(2026, 11, 9, 6, 59))
    assert monday_early.start == date(2026, 10, 26)
    monday = latest_due("weekly", time(9, 0), HELSINKI, at(2026, 11, 9, 7, 0))
    assert (monday.start, monday.end) == (date(2026, 11, 2), date(2026, 11, 9))
    assert monday.describe() == "week 45 of 2026 (2–8 November)"
    wednesday = latest_due("weekly", time(9, 0), HELSINKI, at(2026, 11, 11, 12, 0))
    assert wednesday.start == date(2026, 11, 2)
    across = latest_due("weekly", time(9, 0), HELSINKI, at(2026, 12, 1, 12, 0))
    assert across.describe() == "week 48 of 2026 (23–29 November)"
    assert latest_due("weekly", time(9, 0), HELSINKI, at(2026, 12, 8, 12, 0)).describe() == (
        "week 49 of 2026 (30 November–6 December)"
    )


def test_a_day_that_changes_the_clocks_keeps_its_local_bounds() -> None:
    # Helsinki leaves summer time on Sunday 25 October 2026: that day has 25 hours.
    day = latest_due("daily", time(8, 0), HELSINKI, at(2026, 10, 26, 12, 0))
    assert day.start == date(2026, 10, 25)
    assert day.until - day.since == timedelta(hours=25)
    assert day.before[1] - day.before[0] == timedelta(hours=24)


def test_times_of_day() -> None:
    assert parse_at("08:00") == time(8, 0) and parse_at(" 23:59 ") == time(23, 59)
    for bad in ("8:00", "24:00", "12:60", "noon", "12-00", "１２:００"):
        assert parse_at(bad) is None, bad
