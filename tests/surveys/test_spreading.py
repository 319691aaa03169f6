"""Spreading a run's sends: evenness, working hours, weekends, window edges and DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from surveys.spreading import Slots, Spread, plan

HELSINKI = ZoneInfo("Europe/Helsinki")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def allowed_hours(slots: Slots) -> float:
    return sum((closes - opens) / HOUR for opens, closes in slots.intervals)


def every(slots: Slots) -> list[datetime]:
    return [slots.at(index) for index in range(slots.count)]


def working_offset(slots: Slots, moment: datetime) -> timedelta:
    """How much allowed time lies before `moment`."""
    before = timedelta()
    for opens, closes in slots.intervals:
        if opens <= moment < closes:
            return before + (moment - opens)
        before += closes - opens
    raise AssertionError(f"{moment} is outside the allowed time")


def test_no_spread_sends_everyone_at_the_start_in_utc() -> None:
    start = datetime(2026, 6, 10, 9, 30, tzinfo=HELSINKI)
    slots = plan(start, 3, None, HELSINKI)
    assert every(slots) == [utc(2026, 6, 10, 6, 30)] * 3
    assert all(slot.tzinfo is UTC for slot in every(slots))


def test_one_working_day_evenly() -> None:
    # Wednesday 09:00 in Helsinki (UTC+3 in summer): 8 working hours for 8 people.
    slots = plan(utc(2026, 6, 10, 6, 0), 8, Spread(), HELSINKI)
    assert every(slots) == [utc(2026, 6, 10, 6 + hour) for hour in range(8)]
    assert slots.intervals == ((utc(2026, 6, 10, 6), utc(2026, 6, 10, 14)),)


def test_slot_zero_is_the_start_when_it_is_working_time() -> None:
    start = utc(2026, 6, 10, 11, 17, 23, 456)
    slots = plan(start, 5, Spread(days=3), HELSINKI)
    assert slots.at(0) == start


@pytest.mark.parametrize(
    ("start", "first"),
    [
        (utc(2026, 6, 10, 3, 0), utc(2026, 6, 10, 6, 0)),  # 06:00 local: wait for 09:00
        (utc(2026, 6, 10, 16, 0), utc(2026, 6, 11, 6, 0)),  # 19:00 local: next morning
        (utc(2026, 6, 12, 15, 0), utc(2026, 6, 15, 6, 0)),  # Friday 18:00: Monday
    ],
)
def test_outside_hours_the_first_slot_is_the_next_opening(start: datetime, first: datetime) -> None:
    assert plan(start, 4, Spread(days=4), HELSINKI).at(0) == first


def test_window_boundaries_clip_the_first_and_last_days() -> None:
    # Tuesday 13:00 local for 2 days: Tue 13-17, Wed 9-17, Thu 9-13.
    slots = plan(utc(2026, 6, 9, 10, 0), 16, Spread(days=2), HELSINKI)
    assert slots.intervals == (
        (utc(2026, 6, 9, 10), utc(2026, 6, 9, 14)),
        (utc(2026, 6, 10, 6), utc(2026, 6, 10, 14)),
        (utc(2026, 6, 11, 6), utc(2026, 6, 11, 10)),
    )
    slots_taken = every(slots)
    assert slots_taken[0] == utc(2026, 6, 9, 10)
    assert slots_taken[-1] == utc(2026, 6, 11, 9)
    assert all(slot < utc(2026, 6, 11, 10) for slot in slots_taken)


def test_weekends_are_skipped() -> None:
    # Friday 09:00 in New York for 7 days: Fri, Mon-Thu, then Fri until 09:00 (nothing).
    slots = plan(datetime(2026, 6, 5, 9, 0, tzinfo=NEW_YORK), 1000, Spread(days=7), NEW_YORK)
    local_days = {slot.astimezone(NEW_YORK).date() for slot in every(slots)}
    assert sorted(day.isoformat() for day in local_days) == [
        "2026-06-05",
        "2026-06-08",
        "2026-06-09",
        "2026-06-10",
        "2026-06-11",
    ]
    assert allowed_hours(slots) == 40
    for slot in every(slots):
        local = slot.astimezone(NEW_YORK)
        assert local.weekday() < 5
        assert time(9) <= local.time() < time(17)


def test_weekends_count_when_allowed() -> None:
    slots = plan(utc(2026, 6, 5, 6, 0), 21, Spread(days=3, weekdays_only=False), HELSINKI)
    assert allowed_hours(slots) == 24
    assert {slot.astimezone(HELSINKI).weekday() for slot in every(slots)} == {4, 5, 6}


@pytest.mark.parametrize("count", [2, 3, 7, 1000, 100_000])
def test_slots_are_evenly_spaced_in_working_time(count: int) -> None:
    monday_0830 = utc(2026, 6, 8, 5, 30)
    slots = plan(monday_0830, count, Spread(days=5, hours="08:30-16:45"), HELSINKI)
    assert allowed_hours(slots) == 5 * 8.25
    step = allowed_hours(slots) * HOUR / count
    for index in range(0, count, max(1, count // 500)):
        offset = working_offset(slots, slots.at(index))
        assert abs(offset - index * step) <= timedelta(microseconds=1)


def test_slots_are_sorted_distinct_and_inside_the_intervals() -> None:
    slots = plan(utc(2026, 6, 10, 12, 0), 5000, Spread(days=14), HELSINKI)
    taken = every(slots)
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    for slot in taken:
        assert any(opens <= slot < closes for opens, closes in slots.intervals)
    assert taken[-1] < slots.intervals[-1][1] <= utc(2026, 6, 24, 12, 0)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Saturday 10:00 with a one-day window: no working time, so Monday's whole day.
        (utc(2026, 6, 6, 7, 0), (utc(2026, 6, 8, 6, 0), utc(2026, 6, 8, 14, 0))),
        # Friday 18:00 local to Saturday 18:00: the same.
        (utc(2026, 6, 5, 15, 0), (utc(2026, 6, 8, 6, 0), utc(2026, 6, 8, 14, 0))),
        # By contrast Sunday 23:00 UTC is Monday 02:00 local: Monday is inside the window.
        (utc(2026, 6, 7, 23, 0), (utc(2026, 6, 8, 6, 0), utc(2026, 6, 8, 14, 0))),
    ],
)
def test_an_empty_window_extends_to_the_next_working_hours(
    start: datetime, expected: tuple[datetime, datetime]
) -> None:
    slots = plan(start, 2, Spread(days=1), HELSINKI)
    assert slots.intervals == (expected,)
    assert every(slots) == [expected[0], expected[0] + 4 * HOUR]


def test_an_evening_start_with_one_day_extends_to_the_whole_next_morning() -> None:
    # Tuesday 17:30 local + 24h ends Wednesday 17:30, so Wednesday 9-17 fits.
    slots = plan(utc(2026, 6, 9, 14, 30), 1, Spread(), HELSINKI)
    assert slots.intervals == ((utc(2026, 6, 10, 6), utc(2026, 6, 10, 14)),)
    # Hours that end before the start time of day: the window has none, take the next day's.
    late = plan(utc(2026, 6, 9, 14, 30), 1, Spread(hours="07:00-08:00"), HELSINKI)
    assert late.intervals == ((utc(2026, 6, 10, 4), utc(2026, 6, 10, 5)),)


def test_count_zero_and_one() -> None:
    empty = plan(utc(2026, 6, 10, 6, 0), 0, Spread(), HELSINKI)
    assert empty.count == 0
    with pytest.raises(IndexError):
        empty.at(0)
    single = plan(utc(2026, 6, 10, 3, 0), 1, Spread(), HELSINKI)
    assert single.count == 1
    assert single.at(0) == utc(2026, 6, 10, 6, 0)


@pytest.mark.parametrize("index", [-1, 10, 11])
def test_index_out_of_range(index: int) -> None:
    with pytest.raises(IndexError):
        plan(utc(2026, 6, 10, 6, 0), 10, Spread(), HELSINKI).at(index)
    with pytest.raises(IndexError):
        plan(utc(2026, 6, 10, 6, 0), 10, None, HELSINKI).at(index)


@pytest.mark.parametrize("spread", [None, Spread()])
def test_negative_count_and_naive_start_are_refused(spread: Spread | None) -> None:
    with pytest.raises(ValueError, match="count"):
        plan(utc(2026, 6, 10, 6, 0), -1, spread, HELSINKI)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(datetime(2026, 6, 10, 6, 0), 1, spread, HELSINKI)


def test_helsinki_spring_forward_window_is_measured_in_elapsed_days() -> None:
    # Saturday 09:00 EET for 48 hours crosses 2026-03-29 03:00 → 04:00 and ends Monday 10:00 EEST.
    slots = plan(utc(2026, 3, 28, 7, 0), 4, Spread(days=2, weekdays_only=False), HELSINKI)
    assert slots.intervals == (
        (utc(2026, 3, 28, 7), utc(2026, 3, 28, 15)),  # 09-17 EET
        (utc(2026, 3, 29, 6), utc(2026, 3, 29, 14)),  # 09-17 EEST
        (utc(2026, 3, 30, 6), utc(2026, 3, 30, 7)),  # 09-10 EEST, clipped
    )
    assert every(slots) == [
        utc(2026, 3, 28, 7, 0),
        utc(2026, 3, 28, 11, 15),
        utc(2026, 3, 29, 6, 30),
        utc(2026, 3, 29, 10, 45),
    ]


@pytest.mark.parametrize(
    ("day", "hours", "zone", "expected"),
    [
        # A start inside the gap (03:00-04:00 does not exist) means 04:00 EEST.
        ("2026-03-29", "03:30-05:00", HELSINKI, (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))),
        ("2026-03-29", "03:00-05:00", HELSINKI, (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))),
        ("2026-03-29", "09:00-17:00", HELSINKI, (utc(2026, 3, 29, 6), utc(2026, 3, 29, 14))),
        # The repeated hour counts once more: 00:00 EEST to 06:00 EET is seven hours.
        ("2026-10-25", "00:00-06:00", HELSINKI, (utc(2026, 10, 24, 21), utc(2026, 10, 25, 4))),
        # An ambiguous start time means its first occurrence (03:30 EEST).
        ("2026-10-25", "03:30-05:00", HELSINKI, (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))),
        ("2026-10-25", "09:00-17:00", HELSINKI, (utc(2026, 10, 25, 7), utc(2026, 10, 25, 15))),
        # New York: 02:00-03:00 does not exist on 2026-03-08.
        ("2026-03-08", "02:30-05:00", NEW_YORK, (utc(2026, 3, 8, 7), utc(2026, 3, 8, 9))),
        ("2026-03-08", "09:00-17:00", NEW_YORK, (utc(2026, 3, 8, 13), utc(2026, 3, 8, 21))),
        ("2026-03-07", "09:00-17:00", NEW_YORK, (utc(2026, 3, 7, 14), utc(2026, 3, 7, 22))),
        ("2026-11-01", "00:00-04:00", NEW_YORK, (utc(2026, 11, 1, 4), utc(2026, 11, 1, 9))),
    ],
)
def test_dst_days(
    day: str, hours: str, zone: ZoneInfo, expected: tuple[datetime, datetime]
) -> None:
    midnight = datetime.fromisoformat(day).replace(tzinfo=zone)
    slots = plan(midnight, 60, Spread(hours=hours, weekdays_only=False), zone)
    assert slots.intervals == (expected,)
    assert slots.at(0) == expected[0]
    step = (expected[1] - expected[0]) / 60
    assert slots.at(59) == expected[0] + 59 * step
    for slot in every(slots):
        assert expected[0] <= slot < expected[1]
        assert slot.astimezone(zone).date().isoformat() == day


@pytest.mark.parametrize(
    ("day", "zone", "today", "spill"),
    [
        # 00:00-06:00 on a 23-hour day: the lost hour is not working time, and 24 elapsed hours
        # from midnight reach 01:00 on the next day.
        (
            "2026-03-29",
            HELSINKI,
            (utc(2026, 3, 28, 22), utc(2026, 3, 29, 3)),
            (utc(2026, 3, 29, 21), utc(2026, 3, 29, 22)),
        ),
        (
            "2026-03-08",
            NEW_YORK,
            (utc(2026, 3, 8, 5), utc(2026, 3, 8, 10)),
            (utc(2026, 3, 9, 4), utc(2026, 3, 9, 5)),
        ),
    ],
)
def test_spring_forward_night_hours_and_elapsed_days(
    day: str, zone: ZoneInfo, today: tuple[datetime, datetime], spill: tuple[datetime, datetime]
) -> None:
    midnight = datetime.fromisoformat(day).replace(tzinfo=zone)
    slots = plan(midnight, 6, Spread(hours="00:00-06:00", weekdays_only=False), zone)
    assert slots.intervals == (today, spill)
    assert allowed_hours(slots) == 6
    assert every(slots) == [today[0] + n * HOUR for n in range(5)] + [spill[0]]


def test_new_york_spring_forward_week() -> None:
    # Friday 2026-03-06 08:00 EST for 96 hours: Friday (EST) and Monday (EDT) 9-17 local; the
    # window ends on Tuesday at 09:00 EDT.
    slots = plan(datetime(2026, 3, 6, 8, tzinfo=NEW_YORK), 16, Spread(days=4), NEW_YORK)
    assert slots.intervals == (
        (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
    )
    assert [slot.astimezone(NEW_YORK).hour for slot in every(slots)] == [
        *range(9, 17),
        *range(9, 17),
    ]


def test_a_hundred_thousand_lookups() -> None:
    slots = plan(utc(2026, 6, 1, 0, 0), 100_000, Spread(days=90), HELSINKI)
    taken = [slots.at(index) for index in range(slots.count)]
    assert taken == sorted(taken)
    # 2026-06-01 03:00 local (a Monday) to 2026-08-30 03:00 (a Sunday): 12 weeks and 6 days.
    assert len(slots.intervals) == 12 * 5 + 5
    assert taken[0] == utc(2026, 6, 1, 6, 0)
    assert taken[-1] < slots.intervals[-1][1]


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("8:30-16:45", (time(8, 30), time(16, 45))),
        (" 07:00 - 19:30 ", (time(7), time(19, 30))),
        ("00:00-23:59", (time(0), time(23, 59))),
    ],
)
def test_hours_parse(hours: str, expected: tuple[time, time]) -> None:
    assert Spread(hours=hours).opening() == expected


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("17:00-09:00", "the start must be before the end"),
        ("09:00-09:00", "the start must be before the end"),
        ("9-17", 'use "HH:MM-HH:MM"'),
        ("09:00", 'use "HH:MM-HH:MM"'),
        ("25:00-26:00", 'use "HH:MM-HH:MM"'),
        ("09:60-17:00", 'use "HH:MM-HH:MM"'),
        ("09:00-24:00", 'use "HH:MM-HH:MM"'),
        ("nine to five", 'use "HH:MM-HH:MM"'),
    ],
)
def test_bad_hours_are_refused(hours: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Spread(hours=hours)


@pytest.mark.parametrize(
    "fields",
    [{"days": 0}, {"days": 91}, {"weekends": True}, {"weekdays_only": "sometimes"}],
)
def test_spread_fields_are_validated(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Spread.model_validate(fields)


def test_spread_is_frozen_with_defaults() -> None:
    spread = Spread()
    assert (spread.days, spread.weekdays_only, spread.hours) == (1, True, "09:00-17:00")
    with pytest.raises(ValidationError):
        spread.days = 2  # type: ignore[misc]
