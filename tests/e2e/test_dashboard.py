"""End to end: a CX manager signs in to /dashboard in headless Chromium and reads the API's numbers.

A real `surveybot serve` seeded as a user would (tests/e2e/dashboard_seed.py); every request
to another host is aborted and recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect, sync_playwright

from tests.e2e.conftest import Server
from tests.e2e.dashboard_seed import SURVEY, seed
from tests.e2e.test_webchat_flow import CHROMIUM, CHROMIUM_ARGS


def raw(locator: Locator) -> float | None:
    value = locator.get_attribute("data-value")
    assert value is not None
    return None if value == "" else float(value)


def headline(page: Page) -> dict[str, Any]:
    top = page.locator("#headline")
    names = ("score", "interval-low", "interval-high", "responses", "response-rate", "change",
             "p-value")  # fmt: skip
    found: dict[str, Any] = {name: raw(top.locator(f'[data-metric="{name}"]')) for name in names}
    found["significant"] = top.locator('[data-metric="significant"]').get_attribute("data-value")
    return found


def segments(page: Page) -> dict[str, dict[str, float | None]]:
    rows = page.locator("#segments tr[data-segment]")
    table = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        cells = {
            name: raw(row.locator(f'[data-metric="{name}"]'))
            for name in ("responses", "score", "response-rate", "change")
        }
        low = row.locator('[data-metric="interval-low"]')
        cells["interval-low"] = raw(low) if low.count() else None
        high = row.locator('[data-metric="interval-high"]')
        cells["interval-high"] = raw(high) if high.count() else None
        table[row.get_attribute("data-segment") or ""] = cells
    return table


def api(server: Server, key: str, **params: str) -> dict[str, Any]:
    reply = httpx.get(
        f"{server.url}/api/v1/surveys/{SURVEY}/scores",
        params={"compare": "previous", "group_by": "agent", **params},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def expected_headline(report: dict[str, Any]) -> dict[str, Any]:
    change = report.get("comparison") or {}
    low, high = report["interval"] or (None, None)
    return {
        "score": report["score"],
        "interval-low": low,
        "interval-high": high,
        "responses": float(report["responses"]),
        "response-rate": report.get("response_rate"),
        "change": change.get("difference"),
        "p-value": change.get("p_value"),
        "significant": "true" if change.get("significant") else "false",
    }


def expected_segments(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    table = {}
    for group in report["groups"]:
        low, high = group["interval"] or (None, None)
        table[group["group"]["agent"] or ""] = {
            "responses": float(group["responses"]),
            "score": group["score"],
            "response-rate": group.get("response_rate"),
            "change": (group.get("comparison") or {}).get("difference"),
            "interval-low": low,
            "interval-high": high,
        }
    return table


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.e2e
def test_a_cx_manager_reads_the_dashboard(server: Server, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    seeded = seed(server, tmp_path, today=today)
    since = (today - timedelta(days=59)).isoformat()
    period = {"from": since, "to": today.isoformat()}
    survey_url = f"{server.url}/dashboard/surveys/{SURVEY}"
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route("**/*", only_loopback)
            page = context.new_page()

            # Nothing without signing in: the page sends the reader to sign in, and back.
            page.goto(f"{survey_url}?from={since}&to={today}&segment=agent")
            assert urlsplit(page.url).path == "/dashboard/signin"
            assert query_of(page)["next"] == [
                f"/dashboard/surveys/{SURVEY}?from={since}&to={today}&segment=agent"
            ]

            def sign_in(key: str) -> int:
                page.fill("input[name=key]", key)
                with page.expect_response(
                    lambda r: r.url.endswith("/dashboard/signin") and r.request.method == "POST"
                ) as answered:
                    page.click("form[action='/dashboard/signin'] button[type=submit]")
                return answered.value.status

            assert sign_in("sb_not-a-key") == 401
            expect(page.get_by_test_id("signin-error")).to_contain_text("not valid")
            assert sign_in(seeded.triggers_key) == 403
            expect(page.get_by_test_id("signin-error")).to_contain_text("lacks the read scope")
            assert sign_in(seeded.read_key) == 303
            page.wait_for_url(lambda url: urlsplit(url).path == f"/dashboard/surveys/{SURVEY}")
            assert query_of(page) == {"from": [since], "to": [today.isoformat()],
                                      "segment": ["agent"]}  # fmt: skip

            # The first screen shows the API's numbers for the same filters.
            report = api(server, seeded.read_key, **period)
            assert report["responses"] > 100 and report["comparison"] is not None
            assert headline(page) == expected_headline(report)
            shown = segments(page)
            assert shown == expected_segments(report)
            assert set(shown) >= {"Ana", "Bob", "Chen", "Dara"}
            small = page.locator("#segments tr.small-sample")
            assert small.count() == sum(1 for g in report["groups"] if g["small_sample"]) >= 1
            expect(page.locator("#trend svg[role=img] polygon.band").first).to_be_visible()
            expect(page.locator("#funnel rect[data-step]").first).to_be_visible()
            assert page.locator("#comments li[data-comment]").count() >= 1

            # Timeline of a web-chat answer, and back to the same view.
            page.goto(f"{survey_url}?segment=agent")
            timeline = page.locator("#comments a.timeline-link").first
            expect(timeline).to_be_visible()
            timeline.click()
            page.wait_for_url(lambda url: "/dashboard/invitations/" in url)
            expect(page.locator("ol.timeline li[data-event=answered]")).to_have_count(1)
            page.get_by_test_id("back").click()
            page.wait_for_url(f"{survey_url}?segment=agent")

            # A filter changes the numbers and the URL, and still agrees with the API.
            page.goto(f"{survey_url}?from={since}&to={today}&segment=agent")
            before = headline(page)
            page.check("input[name=channel][value=sms]")
            page.get_by_test_id("apply").click()
            page.wait_for_url(lambda url: "channel=sms" in url)
            assert query_of(page)["channel"] == ["sms"]
            sms = api(server, seeded.read_key, **period, channel="sms")
            assert headline(page) == expected_headline(sms)
            assert headline(page)["responses"] != before["responses"]
            assert segments(page) == expected_segments(sms)
            page.select_option("select[name=property_name]", "plan")
            page.fill("input[name=property_value]", "pro")
            page.get_by_test_id("apply").click()
            page.wait_for_url(lambda url: "property.plan=pro" in url)
            assert query_of(page)["property.plan"] == ["pro"]
            pro = api(server, seeded.read_key, **period, channel="sms", **{"property.plan": "pro"})
            assert headline(page) == expected_headline(pro)
            assert pro["responses"] < sms["responses"]

            # The view is a URL: another tab opens the same numbers.
            shared = context.new_page()
            shared.goto(page.url)
            assert headline(shared) == headline(page)
            shared.close()

            # A bad filter is explained next to its field, not a server error.
            with page.expect_response(lambda r: "/dashboard/surveys/" in r.url) as bad:
                page.goto(f"{survey_url}?from=yesterday")
            assert bad.value.status == 422
            expect(page.locator('[data-error-for="from"]')).to_be_visible()

            page.set_viewport_size({"width": 360, "height": 640})
            page.goto(f"{survey_url}?from={since}&to={today}")
            page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360  # one column: nothing runs off the side
            page.set_viewport_size({"width": 1280, "height": 800})
            page.screenshot(path=str(tmp_path / "dashboard-desktop.png"), full_page=True)

            # Sign-out needs the page's token; with it the session ends.
            forged = page.request.post(
                f"{server.url}/dashboard/signout", form={"csrf": "forged"}, max_redirects=0
            )
            assert forged.status == 403
            page.reload()
            assert urlsplit(page.url).path == f"/dashboard/surveys/{SURVEY}"
            page.get_by_test_id("signout").click()
            page.wait_for_url(lambda url: urlsplit(url).path == "/dashboard/signin")
            page.goto(survey_url)
            assert urlsplit(page.url).path == "/dashboard/signin"
            context.close()
        finally:
            browser.close()
    assert outside == []
    assert (tmp_path / "dashboard-phone.png").stat().st_size > 10_000
