"""The dashboard's data equals the API's for the same filters; bad parameters name themselves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.errors import NotFound, Unprocessable
from bot.insight.dashboard import build_dashboard, period_params
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.bot.insight.test_grouping import ROWS
from tests.support import add_survey, at, store_responses


async def dashboard(services: Services, params: dict[str, list[str]], now: Any = None) -> Any:
    async with UnitOfWork(services.read_sessions) as uow:
        return await build_dashboard(uow, "support-csat", params, now=now or at(2026, 11, 30, 12))


@pytest.fixture
async def seeded(api: httpx.AsyncClient) -> httpx.AsyncClient:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, reasons=["Slow reply", "Not solved"])
    await store_responses(services, "support-csat", ROWS)
    return api


async def test_every_number_equals_the_apis(seeded: httpx.AsyncClient) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    params = {"from": ["2026-10-01"], "to": ["2026-11-30"], "property.plan": ["pro"]}
    board = await dashboard(services, params)
    assert period_params(board.filters) == {"from": "2026-10-01", "to": "2026-11-30"}
    api = (
        await seeded.get(
            "/api/v1/surveys/support-csat/scores",
            params={**period_params(board.filters), "property.plan": "pro", "compare": "previous"},
        )
    ).json()
    head = board.headline
    assert (head.score, head.responses, head.small_sample) == (
        api["score"],
        api["responses"],
        api["small_sample"],
    )
    assert list(head.interval) == api["interval"]
    assert head.change == api["comparison"]["difference"]
    assert head.p_value == api["comparison"]["p_value"]
    assert head.significant == api["comparison"]["significant"]
    assert head.response_rate == api["response_rate"]
    assert head.previous_period == (at(2026, 8, 1), at(2026, 10, 1))  # two whole months before
    assert {b.score: b.count for b in board.distribution} == {
        int(k): v for k, v in api["distribution"].items()
    }
    segments = (
        await seeded.get(
            "/api/v1/surveys/support-csat/scores",
            params={
                **period_params(board.filters),
                "property.plan": "pro",
                "compare": "previous",
                "group_by": board.segment_field,
            },
        )
    ).json()
    assert board.segment_field == "agent"
    assert [(s.value, s.responses, s.score) for s in board.segments] == [
        (g["group"]["agent"], g["responses"], g["score"]) for g in segments["groups"]
    ]
    # The trend covers every day of the period, with gaps where nobody answered.
    assert board.granularity == "week"
    assert board.trend[0].label == "2026-W40" and board.trend[-1].label == "2026-W49"
    assert sum(p.responses for p in board.trend) == head.responses
    assert [p.score for p in board.trend if p.responses == 0] == [None] * sum(
        1 for p in board.trend if p.responses == 0
    )


async def test_low_score_comments_and_context(seeded: httpx.AsyncClient) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    board = await dashboard(services, {"from": ["2026-09-01"], "to": ["2026-11-30"]})
    assert [(c.score, c.comment) for c in board.comments] == [
        (1, "Still broken, SLOW"),
        (2, "Waited three days"),
    ]
    assert dict(board.comments[0].context) == {"agent": "Ben", "plan": "pro"}
    assert board.channels == ("email", "sms")
    assert board.properties == ("agent", "plan")
    assert board.segment_fields == ("channel", "reason", "agent", "plan")
    steps = {s.name: s.count for s in board.funnel}
    assert set(steps) == {"triggered", "skipped", "sent", "delivered", "answered", "commented"}


async def test_a_filter_changes_the_numbers(seeded: httpx.AsyncClient) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    everyone = await dashboard(services, {"from": ["2026-09-01"], "to": ["2026-11-30"]})
    by_sms = await dashboard(
        services, {"from": ["2026-09-01"], "to": ["2026-11-30"], "channel": ["sms"]}
    )
    assert (everyone.headline.responses, by_sms.headline.responses) == (8, 5)
    assert by_sms.filters.query_string() == "channel=sms"


async def test_default_period_is_the_last_thirty_days(seeded: httpx.AsyncClient) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    board = await dashboard(services, {}, now=at(2026, 11, 10, 8))
    assert period_params(board.filters) == {"from": "2026-10-12", "to": "2026-11-10"}
    assert board.headline.responses == 4  # Oct 12 and 20, Nov 2 and 3
    assert board.granularity == "day"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"segment": ["agnet"]}, "segment"),
        ({"segment": ["month"]}, "segment"),
        ({"granularity": ["hour"]}, "granularity"),
        ({"from": ["someday"]}, "from"),
        ({"band": ["promoter"]}, "band"),
        ({"chanel": ["sms"]}, "chanel"),
    ],
)
async def test_bad_parameters_name_themselves(
    seeded: httpx.AsyncClient, params: dict[str, list[str]], field: str
) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    with pytest.raises(Unprocessable) as refused:
        await dashboard(services, params)
    assert refused.value.field == field


async def test_unknown_survey(seeded: httpx.AsyncClient) -> None:
    services: Services = seeded.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.read_sessions) as uow:
        with pytest.raises(NotFound):
            await build_dashboard(uow, "nope", {}, now=at(2026, 11, 30))


def test_the_funnel_adds_a_fallback_step_only_when_a_channel_failed() -> None:
    from bot.insight.dashboard import _funnel

    funnel = {
        "triggered": 5, "skipped": {}, "sent": 4, "delivered": 4, "answered": 2, "commented": 1,
        "fell_back": 2, "channel_failures": {"telegram": {"refused": 2}, "sms": {"gave_up": 1}},
    }  # fmt: skip
    steps = _funnel(funnel)
    assert [s.name for s in steps] == [
        "triggered", "skipped", "sent", "fell_back", "delivered", "answered", "commented",
    ]  # fmt: skip
    fell = steps[3]
    assert (fell.label, fell.count, fell.detail) == (
        "After a fallback",
        2,
        (("sms gave_up", 1), ("telegram refused", 2)),
    )
    quiet = _funnel({**funnel, "channel_failures": {}, "fell_back": 0})
    assert "fell_back" not in [s.name for s in quiet]
