"""Campaign specifications: validation messages, derived values, calendar months, who is due."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from surveys.audience import Audience
from surveys.campaigns import CampaignSpec, add_months, due_for_person
from surveys.spreading import Spread

QUARTERLY = {"name": "quarterly-nps", "survey": "nps.relationship", "cron": "0 9 1 */3 *"}


def spec(**changes: Any) -> CampaignSpec:
    return CampaignSpec.model_validate(QUARTERLY | changes)


def error_of(**changes: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        spec(**changes)
    return str(caught.value)


def test_a_quarterly_cron_campaign_with_defaults() -> None:
    campaign = spec()
    assert campaign.audience_filter().everyone
    assert campaign.channel is None and campaign.spread is None
    assert campaign.zone() == ZoneInfo("UTC")
    assert campaign.at_time() == time(9, 0)
    assert campaign.cadence_text() == "cron 0 9 1 */3 *"


def test_a_per_person_campaign_in_full() -> None:
    campaign = CampaignSpec.model_validate(
        {
            "name": "pro_customers-6m",
            "survey": "csat-onboarding",
            "audience": "plan = pro AND region IN (EU, US)",
            "channel": "sms",
            "every_months": 6,
            "at": "08:30",
            "timezone": "Europe/Helsinki",
            "spread": {"days": 3, "hours": "10:00-16:00"},
        }
    )
    assert campaign.cadence_text() == "every 6 months per person"
    assert campaign.zone() == ZoneInfo("Europe/Helsinki")
    assert campaign.at_time() == time(8, 30)
    assert campaign.spread == Spread(days=3, hours="10:00-16:00")
    audience = campaign.audience_filter()
    assert isinstance(audience, Audience)
    assert audience.names() == {"plan", "region"}
    assert audience.matches({"plan": "PRO", "region": "eu"})
    assert not audience.matches({"plan": "pro", "region": "APAC"})


def test_the_audience_is_parsed_once_and_does_not_affect_equality() -> None:
    campaign, twin = spec(audience="plan = pro"), spec(audience="plan = pro")
    assert campaign.audience_filter() is campaign.audience_filter()
    assert campaign == twin and hash(campaign) == hash(twin)


@pytest.mark.parametrize(
    ("months", "text"), [(1, "every month per person"), (3, "every 3 months per person")]
)
def test_cadence_text_per_person(months: int, text: str) -> None:
    assert spec(cron=None, every_months=months).cadence_text() == text


@pytest.mark.parametrize(
    ("cron", "normalised"),
    [
        ("0 9 1 */3 *", "0 9 1 */3 *"),
        ("  30   8 * *  MON-FRI ", "30 8 * * MON-FRI"),
        ("0 9,13 1-7 jan,apr,jul,oct 1", "0 9,13 1-7 jan,apr,jul,oct 1"),
        ("*/15 * * * *", "*/15 * * * *"),
    ],
)
def test_cron_lines_keep_their_fields(cron: str, normalised: str) -> None:
    assert spec(cron=cron).cron == normalised
    assert spec(cron=cron).cadence_text() == f"cron {normalised}"


@pytest.mark.parametrize(
    "cron", ["0 9 1 */3", "0 9 1 */3 * 2026", "@monthly", "0 9 1 ? *", "0 9 1 */3 *;", ""]
)
def test_bad_cron_lines(cron: str) -> None:
    message = error_of(cron=cron)
    assert "cron" in message and "5 fields (minute hour day month weekday)" in message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cron": None}, "give exactly one of cron"),
        ({"every_months": 3}, "give exactly one of cron"),
        ({"audience": "plan ="}, "expected a value after '=' at position 7"),
        ({"audience": "plan = pro AND (region = EU"}, "'(' at position 16 is never closed"),
        ({"audience": "plan LIKE pro"}, "unknown operator 'LIKE' at position 6"),
        ({"timezone": "Europe/Helsingfors"}, "not an IANA time zone"),
        ({"timezone": "EST+5"}, "not an IANA time zone"),
        ({"at": "9:00"}, 'use "HH:MM"'),
        ({"at": "24:00"}, 'use "HH:MM"'),
        ({"at": "noon"}, 'use "HH:MM"'),
        ({"name": "Quarterly"}, "name"),
        ({"name": "-quarterly"}, "name"),
        ({"name": "q" * 65}, "name"),
        ({"name": "quarterly nps"}, "name"),
        ({"survey": "nps relationship"}, "survey"),
        ({"survey": ""}, "survey"),
        ({"channel": "WhatsApp"}, "channel"),
        ({"every_months": 0, "cron": None}, "every_months"),
        ({"every_months": 25, "cron": None}, "every_months"),
        ({"spread": {"days": 0}}, "spread.days"),
        ({"spread": {"hours": "17:00-09:00"}}, "the start must be before the end"),
        ({"audiences": "all"}, "Extra inputs are not permitted"),
    ],
)
def test_validation_messages(changes: dict[str, Any], message: str) -> None:
    assert message in error_of(**changes)


def test_names_and_channels_that_are_fine() -> None:
    assert spec(name="q" * 64).name == "q" * 64
    assert spec(name="2026_q1-nps").name == "2026_q1-nps"
    assert {spec(channel=channel).channel for channel in ("telegram", "sms", "email")} == {
        "telegram",
        "sms",
        "email",
    }


def test_specs_are_frozen() -> None:
    with pytest.raises(ValidationError):
        spec().cron = "0 9 * * *"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 1, 15), 1, datetime(2026, 2, 15)),
        (datetime(2026, 1, 31), 1, datetime(2026, 2, 28)),
        (datetime(2028, 1, 31), 1, datetime(2028, 2, 29)),  # leap year
        (datetime(2100, 1, 31), 1, datetime(2100, 2, 28)),  # not a leap year
        (datetime(2000, 1, 31), 1, datetime(2000, 2, 29)),  # a leap year after all
        (datetime(2026, 3, 31), 1, datetime(2026, 4, 30)),
        (datetime(2026, 8, 31), 3, datetime(2026, 11, 30)),
        (datetime(2026, 11, 30), 3, datetime(2027, 2, 28)),
        (datetime(2026, 12, 15), 1, datetime(2027, 1, 15)),
        (datetime(2026, 10, 1), 24, datetime(2028, 10, 1)),
        (datetime(2028, 2, 29), 12, datetime(2029, 2, 28)),
        (datetime(2026, 5, 31), 0, datetime(2026, 5, 31)),
        (datetime(2026, 3, 31), -1, datetime(2026, 2, 28)),
        (datetime(2026, 1, 10), -13, datetime(2024, 12, 10)),
    ],
)
def test_add_months_clamps_the_day(moment: datetime, months: int, expected: datetime) -> None:
    assert add_months(moment, months) == expected


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Europe/Helsinki"), ZoneInfo("America/New_York")])
def test_add_months_keeps_time_and_zone(zone: Any) -> None:
    moment = datetime(2026, 1, 31, 9, 45, 12, 345, tzinfo=zone)
    later = add_months(moment, 2)
    assert later.tzinfo is zone
    assert (later.year, later.month, later.day) == (2026, 3, 31)
    assert later.time() == time(9, 45, 12, 345)


LAST = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "now", "months", "due"),
    [
        (None, datetime(2026, 1, 1, tzinfo=UTC), 3, True),
        (LAST, datetime(2026, 4, 30, 10, 0, tzinfo=UTC), 3, True),  # Apr 31 clamps to Apr 30
        (LAST, datetime(2026, 4, 30, 9, 59, tzinfo=UTC), 3, False),
        (LAST, datetime(2026, 2, 28, 10, 0, tzinfo=UTC), 1, True),
        (LAST, datetime(2026, 2, 28, 9, 0, tzinfo=UTC), 1, False),
        (LAST, datetime(2026, 3, 1, 0, 0, tzinfo=UTC), 1, True),
        (LAST, datetime(2026, 7, 30, tzinfo=UTC), 6, False),
        (LAST, datetime(2027, 1, 31, 10, 0, tzinfo=UTC), 12, True),
        (LAST, LAST + timedelta(days=90), 3, True),
        (LAST, LAST + timedelta(days=89), 3, True),  # Apr 30 at 10:00: exactly due
        (LAST, LAST + timedelta(days=88), 3, False),
        # Different zones compare as instants: 12:00 in Helsinki is 10:00 UTC.
        (LAST, datetime(2026, 2, 28, 12, 0, tzinfo=ZoneInfo("Europe/Helsinki")), 1, True),
        (LAST, datetime(2026, 2, 28, 11, 59, tzinfo=ZoneInfo("Europe/Helsinki")), 1, False),
    ],
)
def test_due_for_person(last: datetime | None, now: datetime, months: int, due: bool) -> None:
    assert due_for_person(last, now, months) is due


def test_due_for_person_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="every_months"):
        due_for_person(LAST, LAST, 0)
