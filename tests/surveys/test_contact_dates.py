"""Campaigns timed by a contact's date: offsets, month ends and leap days, and each run's verdict."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from surveys.campaigns import (
    BAD_DATE,
    DUE,
    LATER,
    MISSED,
    NO_DATE,
    PAST,
    CampaignSpec,
    RelativeTo,
    date_turn,
)
from surveys.contact_dates import NoDate, is_date_property, parse_iso_date, read_date


def relative(**fields: Any) -> RelativeTo:
    fields.setdefault("property", "renewal_date")
    if "after" not in fields:
        fields.setdefault("before", "6mo")
    return RelativeTo.model_validate(fields)


def campaign(**relative_to: Any) -> CampaignSpec:
    relative_to.setdefault("property", "renewal_date")
    return CampaignSpec.model_validate(
        {"name": "renewals", "survey": "relationship-nps", "relative_to": relative_to}
    )


def test_a_campaign_before_each_renewal() -> None:
    spec = campaign(before="6mo")
    assert spec.relative_to == RelativeTo(property="renewal_date", before="6mo", grace_days=3)
    assert spec.cadence_text() == "6 months before renewal_date"
    assert spec.at == "09:00" and spec.cron is None and spec.every_months is None
    assert spec.model_dump(mode="json")["relative_to"] == {
        "property": "renewal_date",
        "before": "6mo",
        "after": None,
        "grace_days": 3,
    }


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"before": "6mo"}, "6 months before renewal_date"),
        ({"before": "1mo"}, "1 month before renewal_date"),
        ({"after": "30d"}, "30 days after renewal_date"),
        ({"after": "1d"}, "1 day after renewal_date"),
        ({"before": " 2W "}, "2 weeks before renewal_date"),
        ({"after": "0d"}, "on renewal_date"),
        ({"after": "012mo"}, "12 months after renewal_date"),
    ],
)
def test_offsets_and_their_text(fields: dict[str, Any], text: str) -> None:
    assert campaign(**fields).cadence_text() == text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give exactly one of before"),
        ({"before": "6mo", "after": "1d"}, "give exactly one of before"),
        ({"before": "6m"}, 'use a whole number of days, weeks or months, e.g. "30d"'),
        ({"before": "six months"}, "is not an offset"),
        ({"before": "-6mo"}, "is not an offset"),
        ({"before": "1.5mo"}, "is not an offset"),
        ({"after": "121mo"}, "at most 120mo"),
        ({"after": "3661d"}, "at most 3660d"),
        ({"after": "1d", "grace_days": -1}, "grace_days"),
        ({"after": "1d", "grace_days": 61}, "grace_days"),
        ({"after": "1d", "property": "renewal date"}, "is not a property name"),
        ({"after": "1d", "property": "1st_date"}, "is not a property name"),
        ({"after": "1d", "property": "x" * 65}, "is not a property name"),
        ({"after": "1d", "when": "always"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_relative_specs(fields: dict[str, Any], message: str) -> None:
    fields.setdefault("property", "renewal_date")
    with pytest.raises(ValidationError) as caught:
        CampaignSpec.model_validate({"name": "r", "survey": "s", "relative_to": fields})
    assert message in str(caught.value)


def test_a_date_cadence_excludes_the_others() -> None:
    for other in ({"cron": "0 9 * * *"}, {"every_months": 3}):
        with pytest.raises(ValidationError, match="give exactly one of cron"):
            CampaignSpec.model_validate(
                {
                    "name": "r",
                    "survey": "s",
                    "relative_to": {"property": "renewal_date", "before": "6mo"},
                    **other,
                }
            )


@pytest.mark.parametrize(
    ("fields", "day", "target"),
    [
        ({"after": "1mo"}, date(2027, 1, 31), date(2027, 2, 28)),  # the month's end
        ({"after": "1mo"}, date(2028, 1, 31), date(2028, 2, 29)),  # a leap year's
        ({"after": "1mo"}, date(2027, 1, 28), date(2027, 2, 28)),
        ({"after": "1mo"}, date(2027, 3, 31), date(2027, 4, 30)),
        ({"before": "6mo"}, date(2027, 8, 31), date(2027, 2, 28)),
        ({"before": "6mo"}, date(2028, 8, 31), date(2028, 2, 29)),
        ({"before": "12mo"}, date(2028, 2, 29), date(2027, 2, 28)),  # leap day, a year before
        ({"after": "12mo"}, date(2028, 2, 29), date(2029, 2, 28)),
        ({"after": "48mo"}, date(2028, 2, 29), date(2032, 2, 29)),
        ({"before": "1mo"}, date(2027, 3, 29), date(2027, 2, 28)),
        ({"before": "6mo"}, date(2027, 1, 15), date(2026, 7, 15)),  # across a year
        ({"after": "30d"}, date(2027, 1, 31), date(2027, 3, 2)),  # days are days
        ({"after": "30d"}, date(2028, 1, 31), date(2028, 3, 1)),
        ({"before": "2w"}, date(2028, 3, 7), date(2028, 2, 22)),
        ({"before": "1d"}, date(2028, 3, 1), date(2028, 2, 29)),
        ({"after": "0d"}, date(2027, 5, 31), date(2027, 5, 31)),
    ],
)
def test_targets_at_month_ends_and_leap_days(
    fields: dict[str, Any], day: date, target: date
) -> None:
    assert relative(**fields).target(day) == target


def test_a_target_outside_the_calendar_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside the calendar"):
        relative(before="1mo").target(date(1, 1, 15))
    with pytest.raises(ValueError, match="outside the calendar"):
        relative(after="1d").target(date(9999, 12, 31))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2027-05-31", date(2027, 5, 31)),
        (" 2027-05-31 ", date(2027, 5, 31)),
        ("20270531", date(2027, 5, 31)),
        ("2027-W22-1", date(2027, 5, 31)),
        ("2028-02-29", date(2028, 2, 29)),
    ],
)
def test_iso_dates(text: str, day: date) -> None:
    assert parse_iso_date(text) == day == read_date(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/05/2027", "not an ISO 8601 date; use YYYY-MM-DD"),
        ("2027-5-31", "not an ISO 8601 date"),
        ("2027-05", "not an ISO 8601 date"),
        ("2027-05-31T10:00", "not an ISO 8601 date"),
        ("2027-05-31 10:00", "not an ISO 8601 date"),
        ("soon", "not an ISO 8601 date"),
        ("２０２７-05-31", "not an ISO 8601 date"),
        ("2027-02-29", "not a day of the calendar"),
        ("2027-04-31", "not a day of the calendar"),
        ("2027-13-01", "not a day of the calendar"),
    ],
)
def test_not_iso_dates(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_iso_date(text)


def test_reading_stored_values() -> None:
    for missing in (None, "", "  "):
        with pytest.raises(NoDate):
            read_date(missing)
    for bad in (20270531, 3.5, True, ["2027-05-31"], "tomorrow"):
        with pytest.raises(ValueError):
            read_date(bad)
    assert read_date(date(2027, 5, 31)) == date(2027, 5, 31)


@pytest.mark.parametrize(
    ("name", "dated"),
    [
        ("renewal_date", True),
        ("Renewal_Date", True),
        ("SIGNUP_DATE", True),
        ("date", False),
        ("update", False),
        ("renewal", False),
        ("renews_on", False),
        ("add_on", False),
        ("date_of_birth", False),
    ],
)
def test_which_properties_are_dates(name: str, dated: bool) -> None:
    assert is_date_property(name) is dated


TODAY = date(2026, 11, 10)


def turn(
    value: Any, *, grace: int = 3, since: date = date(2026, 11, 9), first: date = date(2026, 1, 1)
) -> str:
    rule = RelativeTo(property="renewal_date", after="0d", grace_days=grace)
    return date_turn(rule, value, today=TODAY, since=since, first=first).outcome


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("2026-11-10", DUE),  # today
        ("2026-11-07", DUE),  # three days ago: still within the grace
        ("2026-11-06", MISSED),  # dropped out of the grace since yesterday's run
        ("2026-11-05", PAST),  # out of it at yesterday's run already
        ("2026-11-11", LATER),
        ("2027-11-10", LATER),
        (None, NO_DATE),
        ("", NO_DATE),
        ("10.11.2026", BAD_DATE),
        (20261110, BAD_DATE),
    ],
)
def test_what_a_run_makes_of_a_date(value: Any, outcome: str) -> None:
    assert turn(value) == outcome


def test_after_downtime_older_days_are_missed_back_to_the_last_run() -> None:
    since = date(2026, 11, 2)  # the last run, eight days ago: its window was 30 Oct .. 2 Nov
    days = [date(2026, 10, 29) + timedelta(days=n) for n in range(13)]  # 29 Oct .. 10 Nov
    assert [turn(day.isoformat(), since=since) for day in days] == [
        PAST,  # out of the grace already at the last run
        *[MISSED] * 8,  # 30 Oct .. 6 Nov: their day and its grace passed while nothing ran
        *[DUE] * 4,  # 7 .. 10 Nov: within the grace, caught up now
    ]


def test_nothing_before_the_campaign_existed_is_due_or_missed() -> None:
    first = date(2026, 11, 9)
    assert turn("2026-11-09", since=first, first=first) == DUE
    assert turn("2026-11-08", since=first, first=first) == PAST
    assert turn("2026-11-08", since=first, first=first, grace=10) == PAST


def test_without_grace_only_today_is_due() -> None:
    assert turn("2026-11-10", grace=0) == DUE
    assert turn("2026-11-09", grace=0) == MISSED  # yesterday's run did not invite it
    assert turn("2026-11-09", grace=0, since=TODAY) == PAST
