"""The trend's time buckets: every day, ISO week, month or quarter of a period, labelled as the
database labels them (so a bucket without responses is shown as a gap, not skipped)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MAX_BUCKETS = 400


def label(step: str, day: date) -> str:
    """The label of the bucket `day` falls in: 2026-11-02, 2026-W45, 2026-11, 2026-Q4, 2026."""
    if step == "day":
        return day.isoformat()
    if step == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if step == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if step == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if step == "year":
        return f"{day.year:04d}"
    raise ValueError(f"unknown bucket {step!r}")


def start(step: str, day: date) -> date:
    """The first day of the bucket `day` falls in."""
    if step == "week":
        return day - timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    if step == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if step == "year":
        return date(day.year, 1, 1)
    return day


def buckets(step: str, since: datetime, until: datetime) -> list[tuple[str, date]]:
    """(label, first day) of every bucket the period [since, until) touches, in order; at most
    MAX_BUCKETS (the newest ones)."""
    first = since.astimezone(UTC).date()
    last = (until.astimezone(UTC) - timedelta(microseconds=1)).date()
    found: list[tuple[str, date]] = []
    day = start(step, first)
    while day <= last:
        found.append((label(step, day), day))
        day = _next(step, day)
    return found[-MAX_BUCKETS:]


def _next(step: str, day: date) -> date:
    if step == "day":
        return day + timedelta(days=1)
    if step == "week":
        return day + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[step]
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
