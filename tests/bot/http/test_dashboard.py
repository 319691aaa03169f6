"""/dashboard pages on real data: the API's numbers, refused filters, timelines, no 500s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.http.dashboard import HEADERS
from tests.bot.http.test_dashboard_auth import new_key, services_of, sign_in
from tests.bot.http.test_dashboard_pages import Node, parse
from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey, answer, at, deliver, fire

SURVEY = "/dashboard/surveys/support-csat"
# (contact, agent, plan, score, comment) answered on 2026-10-05 (previous) or 2026-10-20.
EARLIER = [
    ("c1", "Ana", "pro", "2", "slow"),
    ("c2", "Bob", "free", "1", "bad"),
    ("c3", "Ana", "free", "4", None),
    ("c4", "Bob", "pro", "2", "meh"),
]
LATER = [
    ("c5", "Ana", "pro", "5", None), ("c6", "Ana", "free", "4", None),
    ("c7", "Bob", "pro", "1", "Still <b>broken</b>"), ("c8", "Bob", "free", "5", None),
    ("c9", "Ana", "pro", "5", None), ("c10", "Chen", "pro", "3", None),
]  # fmt: skip
PERIOD = {"from": "2026-10-15", "to": "2026-11-02"}


async def answered(client: httpx.AsyncClient, clock: FakeClock) -> dict[str, str]:
    """Web-chat invitations answered in two periods; one more left unanswered. Ids by contact."""
    services = services_of(client)
    ids = {}
    for moment, rows in ((at(2026, 10, 5, 10), EARLIER), (at(2026, 10, 20, 10), LATER)):
        clock.now = moment
        for contact, agent, plan, score, comment in rows:
            result = await fire(
                services,
                contact={"external_id": contact},
                properties={"agent": agent, "plan": plan, "ticket_id": f"T-{contact}"},
            )
            await deliver(services)
            await answer(services, result.invitation.id, score)
            if int(score) <= 2:
                await answer(services, result.invitation.id, "Slow reply")
            if comment:
                await answer(services, result.invitation.id, comment)
            ids[contact] = result.invitation.id
    unanswered = await fire(services, contact={"external_id": "c11"}, properties={"agent": "Dara"})
    await deliver(services)
    ids["c11"] = unanswered.invitation.id
    clock.now = at(2026, 11, 2, 12)
    return ids


@pytest.fixture
async def signed_in(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in browser on the app (each backend) with the survey and a read key for the API."""
    async with app_client(make_settings(database_url), clock, base_url="http://dashboard.test") as (
        client,
        services,
    ):
        client.app_services = services  # type: ignore[attr-defined]
        await add_survey(services, reasons=["Slow reply", "Problem not solved"])
        api_key = client.headers.pop("Authorization")
        assert (await sign_in(client, await new_key(client, "reader"))).status_code == 303
        client.api_key = api_key  # type: ignore[attr-defined]
        yield client


async def api(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    reply = await client.get(
        "/api/v1/surveys/support-csat/scores",
        params={"compare": "previous", **params},
        headers={"Authorization": client.api_key},  # type: ignore[attr-defined]
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def raw(node: Node, metric: str) -> float | None:
    """The raw value of a number on the page; None when it is empty or not shown at all."""
    found = node.all(data_metric=metric)
    value = found[0].attrs["data-value"] if found else ""
    assert len(found) <= 1
    return None if value == "" else float(value)


def shown(root: Node) -> tuple[dict[str, Any], dict[str, dict[str, float | None]]]:
    top = root.one("section", id="headline")
    names = ("score", "interval-low", "interval-high", "responses", "response-rate", "change",
             "p-value")  # fmt: skip
    headline: dict[str, Any] = {name: raw(top, name) for name in names}
    verdict = top.all(data_metric="significant")
    headline["significant"] = verdict[0].attrs["data-value"] if verdict else "false"
    rows = {}
    for row in root.one("table", id="segments").all("tr", data_segment=None):
        rows[row.attrs["data-segment"]] = {
            name: raw(row, name)
            for name in ("responses", "score", "interval-low", "interval-high", "response-rate",
                         "change")
        }  # fmt: skip
    return headline, rows


def expected(report: dict[str, Any], field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    comparison = report["comparison"] or {}
    low, high = report["interval"] or (None, None)
    headline = {
        "score": report["score"], "interval-low": low, "interval-high": high,
        "responses": float(report["responses"]), "response-rate": report["response_rate"],
        "change": comparison.get("difference"), "p-value": comparison.get("p_value"),
        "significant": "true" if comparison.get("significant") else "false",
    }  # fmt: skip
    rows = {}
    for group in report["groups"]:
        g_low, g_high = group["interval"] or (None, None)
        rows[group["group"][field] or ""] = {
            "responses": float(group["responses"]), "score": group["score"],
            "interval-low": g_low, "interval-high": g_high,
            "response-rate": group.get("response_rate"),
            "change": (group.get("comparison") or {}).get("difference"),
        }  # fmt: skip
    return headline, rows


async def test_the_page_shows_the_apis_numbers_for_the_same_filters(
    signed_in: httpx.AsyncClient, clock: FakeClock
) -> None:
    await answered(signed_in, clock)
    for params, field in [
        ({**PERIOD, "segment": "agent"}, "agent"),
        ({**PERIOD, "segment": "plan", "property.agent": "Ana"}, "plan"),
        ({"from": "2026-10-01", "to": "2026-10-31", "segment": "channel"}, "channel"),
    ]:
        page = await signed_in.get(SURVEY, params=params)
        assert page.status_code == 200, page.text
        for name, value in HEADERS.items():
            assert page.headers[name] == value
        query = {k: v for k, v in params.items() if k != "segment"}
        report = await api(signed_in, **query, group_by=field)
        assert shown(parse(page.text)) == expected(report, field), params
    # The default view is the last 30 days up to today, compared with the 30 days before.
    root = parse((await signed_in.get(SURVEY)).text)
    period = root.one(data_testid="period")
    assert (period.attrs["data-since"], period.attrs["data-until"]) == (
        "2026-10-04T00:00:00+00:00", "2026-11-03T00:00:00+00:00"
    )  # fmt: skip
    report = await api(signed_in, **{"from": "2026-10-04", "to": "2026-11-02"}, group_by="agent")
    assert shown(root) == expected(report, "agent")
    assert report["responses"] == 10 and report["comparison"]["previous"]["responses"] == 0


async def test_the_screen_has_every_part_with_the_seeded_data(
    signed_in: httpx.AsyncClient, clock: FakeClock
) -> None:
    ids = await answered(signed_in, clock)
    root = parse((await signed_in.get(SURVEY, params=PERIOD)).text)
    top = root.one("section", id="headline")
    assert top.one(data_metric="score").words() == "66.7 %"  # 4 of 6 scored 4 or 5
    assert raw(top, "responses") == 6 and raw(top, "sent") == 7 and raw(top, "answered") == 6
    funnel = {r.attrs["data-step"]: r.attrs["data-value"] for r in root.all("rect", data_step=None)}
    assert funnel["Triggered"] == "7.0" and funnel["Answered"] == "6.0"
    comments = root.one(id="comments").all("li", data_comment=None)
    assert len(comments) == 1  # the low scores with a comment in the period
    assert comments[0].one("blockquote").text() == "Still <b>broken</b>"
    link = urlsplit(comments[0].one("a", **{"class": "timeline-link"}).attrs["href"])
    assert link.path == f"/dashboard/invitations/{ids['c7']}"
    timeline = await signed_in.get(link.path + "?" + link.query)
    assert timeline.status_code == 200
    page = parse(timeline.text)
    events = [e.attrs["data-event"] for e in page.all("li", data_event=None)]
    assert events[:2] == ["created", "sent"] and "answered" in events
    back = page.one("a", data_testid="back").attrs["href"]
    assert parse_qs(urlsplit(back).query) == {"from": ["2026-10-15"], "to": ["2026-11-02"]}
    segments = root.one("table", id="segments")
    small = [r.attrs["data-segment"] for r in segments.all("tr", **{"class": "small-sample"})]
    assert small == ["Ana", "Bob", "Chen"]  # every group is under 30


async def test_a_refused_filter_shows_the_form_with_the_reason_beside_it(
    signed_in: httpx.AsyncClient,
) -> None:
    cases = [
        ({"from": "yesterday"}, "from", "is not a date"),
        ({"from": "2026-11-02", "to": "2026-10-01"}, "from", "must be before"),
        ({"segment": "agnet"}, "segment", "agnet"),
        ({"segment": "month"}, "segment", "not by time"),
        ({"granularity": "hourly"}, "granularity", "granularity must be one of"),
        ({"band": "promoter"}, "general", "does not apply"),
        ({"chanel": "sms"}, "general", "unknown parameter 'chanel'"),
        ({"sort": "name"}, "segments", "sort must be one of"),
        ({"order": "up", "sort": "score"}, "segments", "order must be asc or desc"),
        ({"property_value": "pro"}, "property", "choose the property"),
        ({"property_name": "plan"}, "property", "type the value of plan"),
    ]
    refused = 0
    for params, slot, words in cases:
        reply = await signed_in.get(SURVEY, params=params)
        assert reply.status_code == 422, (params, reply.status_code)
        assert reply.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]
        root = parse(reply.text)
        (message,) = root.all(data_error_for=None)
        assert message.attrs["data-error-for"] == slot and words in message.words(), params
        assert root.one("form", data_testid="filters")
        refused += 1
    assert refused == len(cases)


async def test_the_form_folds_into_a_shareable_url(signed_in: httpx.AsyncClient) -> None:
    sent = {"from": "", "to": "2026-11-02", "channel": "", "property_name": "plan",
            "property_value": " pro ", "segment": "channel", "granularity": ""}  # fmt: skip
    reply = await signed_in.get(SURVEY, params=sent)
    assert reply.status_code == 303
    target = urlsplit(reply.headers["location"])
    assert target.path == SURVEY
    assert parse_qs(target.query) == {"to": ["2026-11-02"], "segment": ["channel"],
                                      "property.plan": ["pro"]}  # fmt: skip
    assert (await signed_in.get(reply.headers["location"])).status_code == 200


async def test_unknown_surveys_and_invitations_are_404_pages(signed_in: httpx.AsyncClient) -> None:
    for path, params in [
        ("/dashboard/surveys/nope", {}),
        ("/dashboard/surveys/nope", {"from": "yesterday"}),
        ("/dashboard/invitations/nope", {}),
    ]:
        reply = await signed_in.get(path, params=params)
        assert reply.status_code == 404, path
        assert reply.headers["cache-control"] == "no-store"
        assert "nope" in parse(reply.text).one(data_testid="error").words()


async def test_one_survey_goes_straight_to_its_page(signed_in: httpx.AsyncClient) -> None:
    reply = await signed_in.get("/dashboard")
    assert (reply.status_code, reply.headers["location"]) == (303, SURVEY)


async def test_a_timeline_only_links_back_into_the_dashboard(
    signed_in: httpx.AsyncClient, clock: FakeClock
) -> None:
    ids = await answered(signed_in, clock)
    path = f"/dashboard/invitations/{ids['c11']}"
    for back, kept in [
        ("https://evil.example/", SURVEY),
        ("/dashboard/surveys/support-csat?channel=web", "/dashboard/surveys/support-csat?channel=web"),
    ]:  # fmt: skip
        root = parse((await signed_in.get(path, params={"back": back})).text)
        assert root.one("a", data_testid="back").attrs["href"] == kept


async def test_odd_queries_get_an_answer_never_a_500(signed_in: httpx.AsyncClient) -> None:
    queries = [
        "from=2026-13-45",
        "to=%F0%9F%98%80",
        "channel=" + "x" * 300,
        "property.=x",
        "property.a%20b=x",
        "property.plan=" + "y" * 300,
        "segment=" + "z" * 500,
        "granularity=day&granularity=week",
        "sort=score&sort=value",
        "from=%00",
        "q=" + "w" * 201,
        "band=",
        "property.plan=%C3%28",
        "from=2026-10-01T25:00:00Z",
        "segment=%E2%80%AE",
        "property_name=a%20b&property_value=c",
        "x=" * 40,
    ]
    statuses = set()
    for query in queries:
        reply = await signed_in.get(f"{SURVEY}?{query}")
        assert reply.status_code in (200, 303, 400, 404, 422), (query, reply.status_code)
        statuses.add(reply.status_code)
    assert 422 in statuses and 200 in statuses
