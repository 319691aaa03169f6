"""Quiet hours: the local times a channel may send in, and the next allowed moment (DST-safe)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Window:
    """Sending is allowed from `start` (inclusive) to `end` (exclusive), local wall-clock time."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        window = cls(time.fromisoformat(start), time.fromisoformat(end))
        if window.start == window.end:
            raise ValueError("a quiet-hours window needs different start and end times")
        return window

    def allows(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # a window across midnight


def _local(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day`'s date in `zone`, moved past a spring-forward gap if it falls in one."""
    naive = datetime.combine(day.date(), at)
    candidate = naive.replace(tzinfo=zone)
    # A wall time inside a gap does not survive a round trip through UTC: it lands later.
    return candidate.astimezone(UTC).astimezone(zone)


def next_allowed(moment: datetime, window: Window | None, zone: ZoneInfo) -> datetime:
    """`moment` if the window allows it, else the window's next opening, in UTC."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    if window is None:
        return moment
    local = moment.astimezone(zone)
    if window.allows(local.time()):
        return moment
    for days in range(0, 3):
        opening = _local(local + timedelta(days=days), window.start, zone)
        if opening > local:
            return opening.astimezone(UTC)
    raise AssertionError("a window opens at least once a day")  # pragma: no cover
