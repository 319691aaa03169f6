"""Report periods: bounds, the previous period (calendar months kept whole), defaults, buckets."""

from __future__ import annotations

import pytest

from bot.insight.periods import (
    PeriodError,
    default_period,
    granularity,
    parse_period,
    previous_period,
)
from tests.support import at


def test_a_date_bound_covers_its_whole_day() -> None:
    assert parse_period("2026-10-01", "2026-10-31") == (at(2026, 10, 1), at(2026, 11, 1))
    assert parse_period("2026-10-01T08:00:00+02:00", None) == (at(2026, 10, 1, 6), None)


@pytest.mark.parametrize(
    ("from_", "to", "field"),
    [("2026-10-02", "2026-10-01", "from"), ("yesterday", None, "from"), (None, "0001-01-01", "to")],
)
def test_bad_bounds_name_their_field(from_: str | None, to: str | None, field: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(from_, to)
    assert refused.value.field == field


def test_previous_period_keeps_calendar_months_whole() -> None:
    assert previous_period(at(2026, 10, 1), at(2026, 11, 1)) == (at(2026, 9, 1), at(2026, 10, 1))
    assert previous_period(at(2026, 1, 1), at(2026, 4, 1)) == (at(2025, 10, 1), at(2026, 1, 1))
    assert previous_period(at(2026, 3, 1), at(2026, 3, 31)) == (at(2026, 1, 30), at(2026, 3, 1))
    # Not whole months: the same length right before.
    assert previous_period(at(2026, 11, 10), at(2026, 11, 17)) == (
        at(2026, 11, 3),
        at(2026, 11, 10),
    )


def test_default_period_is_the_last_thirty_days_up_to_today() -> None:
    assert default_period(at(2026, 12, 7, 15)) == (at(2026, 11, 8), at(2026, 12, 8))


def test_granularity_follows_the_length() -> None:
    assert granularity(at(2026, 11, 1), at(2026, 12, 1)) == "day"
    assert granularity(at(2026, 6, 1), at(2026, 12, 1)) == "week"
    assert granularity(at(2025, 1, 1), at(2026, 12, 1)) == "month"
    assert granularity(at(2020, 1, 1), at(2026, 12, 1)) == "quarter"
    assert granularity(None, at(2026, 12, 1)) == "month"
