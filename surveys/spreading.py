"""Spreading a campaign run's sends evenly over local working time in the days after it starts."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SATURDAY = 5
_MICROSECOND = timedelta(microseconds=1)


class Spread(BaseModel):
    """Send a run over `days` from its start, within local working hours, evenly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: int = Field(default=1, ge=1, le=90)
    weekdays_only: bool = True
    hours: str = "09:00-17:00"

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        _opening(value)
        return value

    def opening(self) -> tuple[time, time]:
        """The local working hours: from the first time (inclusive) to the second (exclusive)."""
        return _opening(self.hours)


def _opening(text: str) -> tuple[time, time]:
    match = _HOURS.match(text)
    try:
        if match is None:
            raise ValueError(text)
        start = time(int(match[1]), int(match[2]))
        end = time(int(match[3]), int(match[4]))
    except ValueError:
        raise ValueError(f'hours {text!r}: use "HH:MM-HH:MM", e.g. "09:00-17:00"') from None
    if start >= end:
        # Overnight hours would make one working day span two dates; nobody has asked for that.
        raise ValueError(f"hours {text!r}: the start must be before the end, e.g. 09:00-17:00")
    return start, end


class Slots:
    """The send times of one run: `at(i)` for i in range(count), evenly over the allowed time."""

    __slots__ = ("_count", "_intervals", "_offsets", "_total")

    def __init__(self, count: int, intervals: Sequence[tuple[datetime, datetime]]) -> None:
        if count < 0:
            raise ValueError("count must be zero or more")
        self._count = count
        self._intervals = tuple(intervals)
        self._offsets: list[int] = []  # microseconds of allowed time before each interval
        total = 0
        for opens, closes in self._intervals:
            self._offsets.append(total)
            total += (closes - opens) // _MICROSECOND
        self._total = total

    @property
    def count(self) -> int:
        return self._count

    @property
    def intervals(self) -> tuple[tuple[datetime, datetime], ...]:
        """The allowed stretches of time, in UTC, each from its start to just before its end."""
        return self._intervals

    def at(self, index: int) -> datetime:
        """The send time of recipient `index`; IndexError outside range(count)."""
        if not 0 <= index < self._count:
            raise IndexError(f"slot {index} is outside 0..{self._count - 1}")
        # Integer microseconds keep the spacing exact and every slot before the window's end.
        offset = index * self._total // self._count
        which = bisect_right(self._offsets, offset) - 1
        return self._intervals[which][0] + timedelta(microseconds=offset - self._offsets[which])


def plan(start: datetime, count: int, spread: Spread | None, zone: ZoneInfo) -> Slots:
    """Send times for `count` recipients of a run starting at `start` (aware), in UTC."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    begin = start.astimezone(UTC)
    return Slots(count, [(begin, begin)] if spread is None else _allowed(begin, spread, zone))


def _allowed(begin: datetime, spread: Spread, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The working-hours intervals inside [begin, begin + days), or else the next one after."""
    end = begin + timedelta(days=spread.days)  # elapsed days, so a DST change does not stretch it
    first, last = begin.astimezone(zone).date(), (end - _MICROSECOND).astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    intervals = []
    for opens, closes in _working(days, spread, zone):
        opens, closes = max(opens, begin), min(closes, end)
        if opens < closes:
            intervals.append((opens, closes))
    if intervals:
        return intervals
    # A window with no working time in it (a weekend, a night) takes the next whole working day.
    later = [first + timedelta(days=n) for n in range(14)]
    return next([interval] for interval in _working(later, spread, zone) if interval[0] >= begin)


def _working(days: list[date], spread: Spread, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The UTC working intervals of the working days among local `days`."""
    opens, closes = spread.opening()
    intervals = []
    for day in days:
        if not (spread.weekdays_only and day.weekday() >= _SATURDAY):
            interval = (_instant(day, opens, zone), _instant(day, closes, zone))
            if interval[0] < interval[1]:  # hours wholly inside a spring-forward gap vanish
                intervals.append(interval)
    return intervals


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`, in UTC; a time in a spring-forward gap becomes the gap's end."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # an existing wall time; in a fall-back repeat, its first occurrence
    # In a gap the two folds read the wall time with the offsets either side of the change, so
    # the change lies between them; find it to the second (zones change on whole seconds).
    low, high = sorted((first, wall.replace(tzinfo=zone, fold=1).astimezone(UTC)))
    after = high.astimezone(zone).utcoffset()
    low_s, high_s = int(low.timestamp()), int(high.timestamp())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high_s = middle
        else:
            low_s = middle
    return datetime.fromtimestamp(high_s, UTC)
