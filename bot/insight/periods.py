"""Report periods: the bounds a request names, the previous period to compare with, defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

# The dashboard's period when none is given: the last 30 days up to now.
DEFAULT_DAYS = 30


class PeriodError(ValueError):
    """Raised when --from/--to (or from/to) is not a date or an ISO 8601 date-time, or when
    the start is not before the end; `field` names the bound to blame."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_period(
    from_: str | None, to: str | None, *, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """The period two bounds name (either may be absent); PeriodError unless from is before to."""
    since = parse_bound(from_, end=False, name=names[0])
    until = parse_bound(to, end=True, name=names[1])
    if since is not None and until is not None and since >= until:
        raise PeriodError(
            f"{names[0]} {from_} must be before {names[1]} {to} (that period is empty)",
            field=names[0],
        )
    return since, until


def parse_bound(value: str | None, *, end: bool, name: str) -> datetime | None:
    """A report bound: a date means its whole day (an end date is included), UTC."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PeriodError(
            f"{name}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time", field=name
        ) from exc
    if not _EARLIEST <= moment <= _LATEST:
        raise PeriodError(f"{name}: {value!r} is out of range (1970 to 9998)", field=name)
    return moment + timedelta(days=1) if end and len(text) == 10 else moment


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def previous_period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The period of the same length that ends where this one starts.

    Whole calendar months (a month, a quarter, a year) compare with as many months before, so
    October compares with September rather than with the 31 days before it.
    """
    months = _whole_months(since, until)
    if months:
        return _add_months(since, -months), since
    return since - (until - since), since


def _whole_months(since: datetime, until: datetime) -> int:
    def first_of_month(moment: datetime) -> bool:
        utc = moment.astimezone(UTC)
        return utc.day == 1 and utc.time() == time.min

    if not (first_of_month(since) and first_of_month(until)):
        return 0
    return (until.year - since.year) * 12 + until.month - since.month


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def default_period(now: datetime, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """The last `days` whole days up to and including today (UTC)."""
    end = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=days), end


def granularity(since: datetime | None, until: datetime | None) -> str:
    """The trend's bucket for a period's length: days up to 45 days, weeks up to about six
    months, months up to three years, then quarters."""
    if since is None or until is None:
        return "month"
    days = (until - since).days
    if days <= 45:
        return "day"
    if days <= 190:
        return "week"
    if days <= 3 * 366:
        return "month"
    return "quarter"
