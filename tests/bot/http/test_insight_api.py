"""The insight API: scores grouped, filtered and compared; responses filtered and paged; CSV export.

Everything goes through HTTP with an API key, on both databases.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.runtime.services import Services
from tests.bot.insight.test_grouping import ROWS
from tests.support import add_survey, at, store_responses

SCORES = "/api/v1/surveys/support-csat/scores"


@pytest.fixture
async def seeded(api: httpx.AsyncClient) -> httpx.AsyncClient:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, reasons=["Slow reply", "Not solved"])
    await store_responses(services, "support-csat", ROWS)
    return api


async def test_scores_grouped_filtered_and_compared(seeded: httpx.AsyncClient) -> None:
    reply = await seeded.get(
        SCORES,
        params={"group_by": "month,channel", "property.plan": "pro", "from": "2026-10-01",
                "to": "2026-10-31", "compare": "previous"},
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    body = reply.json()
    # October, plan pro: Ben's 1 by SMS just after midnight UTC and Ana's 5 by email.
    assert body["responses"] == 2
    assert body["filters"] == {"property.plan": ["pro"]}
    assert body["group_by"] == ["month", "channel"]
    assert [(g["group"], g["responses"]) for g in body["groups"]] == [
        ({"month": "2026-10", "channel": "email"}, 1),
        ({"month": "2026-10", "channel": "sms"}, 1),
    ]
    comparison = body["comparison"]
    assert comparison["period"]["from"].startswith("2026-09-01")
    assert comparison["previous"]["responses"] == 1  # September, plan pro: one 5
    assert comparison["test"] == "two-proportion z-test"
    assert set(comparison) >= {"difference", "interval", "z", "p_value", "significant", "average"}
    assert body["n_needed"]["more"] == body["n_needed"]["responses"] - 2
    assert body["interval_method"] == "wilson"


async def test_scores_repeated_group_by_and_channel_filters(seeded: httpx.AsyncClient) -> None:
    reply = await seeded.get(
        SCORES, params=[("group_by", "agent"), ("group_by", "quarter"), ("channel", "sms")]
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["responses"] == 5
    assert {tuple(g["group"].values()): g["responses"] for g in body["groups"]} == {
        ("Ana", "2026-Q3"): 2,
        ("Ana", "2026-Q4"): 1,
        ("Ben", "2026-Q4"): 2,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"chanel": "sms"}, "chanel"),
        ({"band": "promoter"}, "band"),
        ({"compare": "previous"}, "compare"),  # no period to compare
        ({"compare": "yesterday", "from": "2026-10-01"}, "compare"),
        ({"group_by": "month,month"}, "group_by"),
        ({"group_by": "a,b,c,d,e"}, "group_by"),
        ({"property.x y": "1"}, "property.x y"),
        ({"compare_from": "2026-13-01"}, "compare_from"),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    seeded: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    reply = await seeded.get(SCORES, params=params)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field


async def test_responses_are_filtered_and_paged_newest_first(seeded: httpx.AsyncClient) -> None:
    page = await seeded.get(
        "/api/v1/responses", params={"survey": "support-csat", "limit": 3, "offset": 1}
    )
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == len(ROWS)
    newest = sorted(ROWS, key=lambda r: r[0], reverse=True)
    assert [r["score"] for r in body["data"]] == [r[4] for r in newest[1:4]]
    first = body["data"][0]
    assert set(first) >= {"id", "band", "themes", "disagrees", "properties", "contact"}
    for params, expected in [
        ({"band": "negative"}, [1, 2]),
        ({"q": "SLOW"}, [1]),
        ({"channel": "email", "property.agent": "Ana"}, [3, 5]),
        ({"reason": "Slow reply"}, [2]),
        ({"from": "2026-11-01"}, [4, 5]),
    ]:
        reply = await seeded.get("/api/v1/responses", params={"survey": "support-csat", **params})
        assert reply.status_code == 200, reply.text
        assert sorted(r["score"] for r in reply.json()["data"]) == expected, params
        assert reply.json()["count"] == len(expected)
    bands = {r["score"]: r["band"] for r in body["data"]}
    assert all(band in ("positive", "neutral", "negative") for band in bands.values())


async def test_csv_export_has_one_safe_row_per_response(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    nasty = [
        (at(2026, 11, 1, 9), "web", '=HYPERLINK("http://x")', "+1", 5, None, "@SUM(A1)"),
        (at(2026, 11, 2, 9), "web", "-2", "Ana", 2, None, 'line one\nline two, "quoted"'),
        (at(2026, 11, 3, 9), "sms", "pro", "Bo", 4, None, None),
    ]
    await store_responses(services, "support-csat", nasty)
    reply = await api.get("/api/v1/responses", params={"survey": "support-csat", "format": "csv"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == 3  # one per response, the comment's newline kept inside its cell
    assert [r["score"] for r in rows] == ["5", "2", "4"]  # oldest first
    assert rows[0]["plan"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["agent"] == "'+1"
    assert rows[0]["comment"] == "'@SUM(A1)"
    assert rows[1]["plan"] == "'-2"
    assert rows[1]["comment"] == 'line one\nline two, "quoted"'
    assert rows[1]["band"] == "negative"
    assert rows[2]["comment"] == ""
    assert list(rows[0])[:5] == ["response_id", "answered_at", "survey", "contact", "channel"]
    only_sms = await api.get(
        "/api/v1/responses", params={"survey": "support-csat", "format": "csv", "channel": "sms"}
    )
    assert len(list(csv.DictReader(io.StringIO(only_sms.text)))) == 1
    refused = await api.get(
        "/api/v1/responses", params={"survey": "support-csat", "format": "csv", "band": "promoter"}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "band"


async def test_csv_export_pages_through_more_rows_than_a_batch(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    # Several answers at the same second: the keyset (answered_at, id) must neither skip nor
    # repeat rows across batches.
    many: list[tuple[Any, ...]] = [
        (at(2026, 11, 1) + timedelta(seconds=i // 3), "web", "p", "a", 1 + i % 5, None, f"c{i}")
        for i in range(4500)
    ]
    await store_responses(services, "support-csat", many)
    reply = await api.get("/api/v1/responses", params={"survey": "support-csat", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == 4500
    assert len({r["response_id"] for r in rows}) == 4500
    assert sorted(r["comment"] for r in rows) == sorted(f"c{i}" for i in range(4500))
