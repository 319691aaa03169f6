"""Reports by several fields at once, filtered, compared with a period, with response rates.

Known answers are stored as responses (and, for response rates, as real web-chat invitations
answered through the engine); every count is checked against what was stored, on both databases.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from bot.errors import Unprocessable
from bot.insight.filters import Filters, parse
from bot.insight.scores import build_report, comparison_period
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from surveys.scoring import compare_periods, summarize
from tests.conftest import FakeClock
from tests.support import add_survey, answer, at, deliver, fire, store_responses

# (answered_at, channel, plan, agent, score, reason, comment)
ROWS: list[tuple[datetime, str, str, str, int, str | None, str | None]] = [
    (at(2026, 9, 3, 10), "sms", "pro", "Ana", 5, None, "Quick and kind"),
    (at(2026, 9, 15, 10), "email", "free", "Ben", 2, "Slow reply", "Waited three days"),
    (at(2026, 9, 30, 23, 30), "sms", "free", "Ana", 4, None, None),
    (at(2026, 10, 1, 0, 30), "sms", "pro", "Ben", 1, "Not solved", "Still broken, SLOW"),
    (at(2026, 10, 12, 9), "email", "pro", "Ana", 5, None, "Great"),
    (at(2026, 10, 20, 9), "email", "free", "Ana", 3, None, None),
    (at(2026, 11, 2, 9), "sms", "pro", "Ben", 5, None, "100% fixed"),
    (at(2026, 11, 3, 9), "sms", "pro", "Ana", 4, None, None),
]


async def report(services: Services, survey: str = "support-csat", **options: Any) -> Any:
    params = options.pop("params", {})
    since, until = options.pop("period", (None, None))
    filters = parse(params, since=since, until=until)
    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key(survey)
        assert row is not None
        return await build_report(uow, row, filters, **options)


@pytest.fixture
async def seeded(services: Services) -> Services:
    await add_survey(services, reasons=["Slow reply", "Not solved"])
    await store_responses(services, "support-csat", ROWS)
    return services


async def test_grouping_by_month_and_channel_counts_each_combination(seeded: Services) -> None:
    result = await report(seeded, group_by=("month", "channel"))
    found = {tuple(g["group"].values()): g["responses"] for g in result["groups"]}
    expected = Counter((r[0].strftime("%Y-%m"), r[1]) for r in ROWS)
    assert found == dict(expected)
    assert next(list(g["group"]) for g in result["groups"]) == ["month", "channel"]
    assert sum(found.values()) == result["responses"] == len(ROWS)
    october_sms = next(
        g for g in result["groups"] if g["group"] == {"month": "2026-10", "channel": "sms"}
    )
    assert october_sms["positive"] == 0 and october_sms["score"] == 0.0  # the 1 after midnight UTC


async def test_grouping_by_a_property_and_a_period_and_a_field(seeded: Services) -> None:
    result = await report(seeded, group_by=("agent", "quarter", "channel"))
    found = {tuple(g["group"].values()): g["responses"] for g in result["groups"]}
    assert found == dict(
        Counter((r[3], "2026-Q" + ("3" if r[0].month == 9 else "4"), r[1]) for r in ROWS)
    )


async def test_time_buckets_on_both_databases(services: Services) -> None:
    await add_survey(services)
    edges = [at(2026, 1, 1, 12), at(2027, 1, 1, 12), at(2024, 12, 30, 12), at(2026, 12, 31, 23, 59)]
    await store_responses(
        services, "support-csat", [(t, "web", "p", "a", 5, None, None) for t in edges]
    )
    for period, labels in {
        "week": ["2025-W01", "2026-W01", "2026-W53"],  # 2027-01-01 is in ISO week 53 of 2026
        "quarter": ["2024-Q4", "2026-Q1", "2026-Q4", "2027-Q1"],
        "year": ["2024", "2026", "2027"],
        "day": ["2024-12-30", "2026-01-01", "2026-12-31", "2027-01-01"],
        "month": ["2024-12", "2026-01", "2026-12", "2027-01"],
    }.items():
        result = await report(services, group_by=(period,))
        assert [g["group"][period] for g in result["groups"]] == labels, period
    weeks = await report(services, group_by=("week",))
    assert [g["responses"] for g in weeks["groups"]] == [1, 1, 2]


async def test_filters_select_the_same_responses_everywhere(seeded: Services) -> None:
    cases: list[tuple[dict[str, list[str]], int]] = [
        ({"channel": ["sms"]}, 5),
        ({"channel": ["sms,email"]}, 8),
        ({"property.plan": ["pro"]}, 5),
        ({"property.plan": ["pro"], "channel": ["email"]}, 1),
        ({"property.agent": ["Ana", "Ben"], "property.plan": ["free"]}, 3),
        ({"band": ["negative"]}, 2),  # 1 and 2 on 1-5 (3 is neutral)
        ({"band": ["neutral"]}, 1),
        ({"band": ["positive"]}, 5),
        ({"reason": ["Slow reply"]}, 1),
        ({"q": ["slow"]}, 1),  # case-insensitive, the comment "Still broken, SLOW"
        ({"q": ["100%"]}, 1),  # % is a character, not a wildcard
        ({"q": ["%"]}, 1),
    ]
    for params, count in cases:
        result = await report(seeded, params=params)
        assert result["responses"] == count, params
        assert result["filters"] == {
            k: [x for v in vs for x in v.split(",")] if k == "channel" else vs
            for k, vs in params.items()
        }


async def test_bad_filters_are_refused_naming_the_parameter(seeded: Services) -> None:
    for params, field in [
        ({"chanel": ["sms"]}, "chanel"),
        ({"band": ["promoter"]}, "band"),  # an NPS band on a CSAT survey
        ({"band": ["great"]}, "band"),
        ({"property.": ["x"]}, "property."),
        ({"q": ["x" * 201]}, "q"),
        ({"band": ["positive", "negative"]}, "band"),
    ]:
        with pytest.raises(Unprocessable) as refused:
            await report(seeded, params=params)
        assert refused.value.field == field, params


async def test_compare_with_the_previous_period(seeded: Services) -> None:
    october = (at(2026, 10, 1), at(2026, 11, 1))
    filters = Filters(since=october[0], until=october[1])
    against = comparison_period("previous", None, None, filters, now=at(2026, 12, 1))
    assert against == (at(2026, 9, 1), at(2026, 10, 1))
    result = await report(seeded, period=october, against=against)
    september = summarize("csat", (1, 5), 4, {5: 1, 2: 1, 4: 1})
    current = summarize("csat", (1, 5), 4, {1: 1, 5: 1, 3: 1})
    expected = compare_periods(september, current)
    comparison = result["comparison"]
    assert comparison["period"] == {
        "from": "2026-09-01T00:00:00+00:00",
        "to": "2026-10-01T00:00:00+00:00",
    }
    assert comparison["previous"]["responses"] == 3
    assert comparison["difference"] == pytest.approx(expected.difference)
    assert comparison["p_value"] == pytest.approx(expected.p_value)
    assert comparison["test"] == "two-proportion z-test"
    assert comparison["significant"] is False
    # Per group too, for groups that are not time buckets.
    by_agent = await report(seeded, period=october, against=against, group_by=("agent",))
    ana = next(g for g in by_agent["groups"] if g["group"] == {"agent": "Ana"})
    assert ana["comparison"]["previous"]["responses"] == 2
    by_month = await report(seeded, period=october, against=against, group_by=("month",))
    assert all("comparison" not in g for g in by_month["groups"])


async def test_compare_needs_a_period(seeded: Services) -> None:
    with pytest.raises(Unprocessable) as refused:
        comparison_period("previous", None, None, Filters(), now=at(2026, 12, 1))
    assert refused.value.field == "compare"
    with pytest.raises(Unprocessable) as refused:
        comparison_period("last", None, None, Filters(since=at(2026, 1, 1)), now=at(2026, 12, 1))
    assert refused.value.field == "compare"
    explicit = comparison_period(None, "2026-09-01", "2026-09-30", Filters(), now=at(2026, 12, 1))
    assert explicit == (at(2026, 9, 1), at(2026, 10, 1))


async def test_response_rates_per_group(services: Services, clock: FakeClock) -> None:
    await add_survey(services, throttle_days=0)
    invited = []
    for n, (channel_plan, answers) in enumerate(
        [("pro", "5"), ("pro", None), ("free", "2"), ("free", None), ("free", None)]
    ):
        result = await fire(
            services,
            contact={"external_id": f"rr{n}", "properties": {"plan": channel_plan}},
            properties={"agent": "Ana" if n % 2 else "Ben"},
        )
        invited.append((result.invitation.id, answers))
    await deliver(services)
    for invitation_id, text in invited:
        if text is not None:
            await answer(services, invitation_id, text)
    result = await report(services, group_by=("plan",))
    assert (result["sent"], result["answered"]) == (5, 2)
    assert result["response_rate"] == pytest.approx(2 / 5)
    rates = {
        g["group"]["plan"]: (g["sent"], g["answered"], g["response_rate"]) for g in result["groups"]
    }
    assert rates == {"free": (3, 1, pytest.approx(1 / 3)), "pro": (2, 1, 0.5)}
    # A filter on a property selects the invitations as it selects the responses.
    pro = await report(services, params={"property.plan": ["pro"]})
    assert (pro["sent"], pro["answered"], pro["responses"]) == (2, 1, 1)
    # About the answer, no response rate: what was sent cannot have a band.
    negative = await report(services, params={"band": ["negative"]})
    assert negative["response_rate"] is None and negative["responses"] == 1
    by_reason = await report(services, group_by=("reason",))
    assert by_reason["response_rate"] == pytest.approx(2 / 5)
    assert all(g["response_rate"] is None for g in by_reason["groups"])


async def test_nps_report_uses_the_adjusted_wald_interval(services: Services) -> None:
    await add_survey(services, key="nps", metric="nps")
    rows = [
        (at(2026, 11, 1), "web", "p", "a", s, None, None) for s in [10] * 50 + [8] * 30 + [3] * 20
    ]
    await store_responses(services, "nps", rows)
    result = await report(services, "nps")
    assert result["score"] == pytest.approx(30.0)
    assert [round(x, 2) for x in result["interval"]] == [14.05, 44.20]
    assert result["interval_method"] == "adjusted-wald"
    assert result["n_needed"] == {"margin": 5.0, "responses": 935, "more": 835}
