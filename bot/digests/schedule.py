"""A digest's periods: the previous day or ISO week in its time zone, and when each is due.

Pure: the time comes in. A day's digest is due on the next day at its local time; a week's
(Monday to Monday) on the next Monday at its local time. The period to send is the latest one
that is due, so a service down at the send time sends it when it is back (but never the older
ones it missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EVERY = ("daily", "weekly")


@dataclass(frozen=True, slots=True)
class Period:
    """A digest's period: local days [start, end), as UTC bounds, and the one before it."""

    every: str
    start: date
    end: date
    since: datetime
    until: datetime
    before: tuple[datetime, datetime]

    @property
    def key(self) -> str:
        """What the record of a sent digest remembers it by: its first local day."""
        return self.start.isoformat()

    def describe(self) -> str:
        """`Monday 2 November 2026`, or `week 45 of 2026 (2–8 November)`."""
        if self.every == "daily":
            return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"
        last = self.end - timedelta(days=1)
        year, week, _ = self.start.isocalendar()
        first = f"{self.start.day} {self.start:%B}" if self.start.month != last.month else ""
        span = f"{first or self.start.day}–{last.day} {last:%B}"
        return f"week {week} of {year} ({span})"

    @property
    def previous_name(self) -> str:
        return "the day before" if self.every == "daily" else "the week before"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of a local day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def period_starting(every: str, start: date, zone: ZoneInfo) -> Period:
    length = timedelta(days=1 if every == "daily" else 7)
    end = start + length
    return Period(
        every=every,
        start=start,
        end=end,
        since=local_midnight(start, zone),
        until=local_midnight(end, zone),
        before=(local_midnight(start - length, zone), local_midnight(start, zone)),
    )


def latest_due(every: str, at: time, zone: ZoneInfo, now: datetime) -> Period:
    """The latest period whose send time (the local `at` just after it ends) has passed."""
    local = now.astimezone(zone)
    today = local.date()
    if every == "daily":
        end = today if local.time() >= at else today - timedelta(days=1)
        return period_starting(every, end - timedelta(days=1), zone)
    monday = today - timedelta(days=today.weekday())
    if monday == today and local.time() < at:
        monday -= timedelta(days=7)
    return period_starting(every, monday - timedelta(days=7), zone)


def parse_at(value: str) -> time | None:
    """`08:00` as a time; None unless it is HH:MM on a 24-hour clock."""
    text = value.strip()
    digits = text[:2] + text[3:]
    if len(text) != 5 or text[2] != ":" or not (digits.isascii() and digits.isdigit()):
        return None
    hours, minutes = int(text[:2]), int(text[3:])
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)
