"""End to end: load a survey and a key with the CLI, trigger over HTTP, answer in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: {en: "How did {agent} do on ticket {ticket_id}?", fi: "Miten {agent} hoiti tiketin {ticket_id}?"}
    reasons: ["Slow reply", "Problem not solved"]
"""


def trigger(server: Server, key: str, external_id: str, locale: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/triggers",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "survey": "support-csat",
            "channel": "web",
            "contact": {"external_id": external_id, "locale": locale},
            "properties": {"agent": "Ana", "ticket_id": "T-1001"},
        },
        timeout=10,
    )
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["status"] == "scheduled" and body["link"].startswith(server.url + "/s/")
    return str(body["link"])


def idle(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-busy", "false")


@pytest.mark.e2e
def test_web_chat_survey_to_stored_response(server: Server, tmp_path: Path) -> None:
    key = server.load_and_key(SURVEYS, tmp_path)
    link = trigger(server, key, "cust-42", "en")
    fi_link = trigger(server, key, "cust-43", "fi")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            phone = browser.new_page(viewport={"width": 360, "height": 640})
            outside: list[str] = []
            phone.on(
                "request",
                lambda r: None if r.url.startswith(server.url) else outside.append(r.url),
            )
            phone.goto(link)
            idle(phone)
            other = browser.new_page()  # a second tab on the same link, left open
            other.goto(link)
            idle(other)
            expect(phone.get_by_test_id("msg-out").first).to_contain_text(
                "How did Ana do on ticket T-1001?"
            )
            buttons = phone.get_by_test_id("choice")
            expect(buttons).to_have_count(5)
            assert [buttons.nth(i).inner_text() for i in range(5)] == ["1", "2", "3", "4", "5"]
            buttons.nth(1).click()  # a 2: reasons follow
            idle(phone)
            expect(phone.get_by_test_id("choice").first).to_have_text("Slow reply")
            phone.get_by_test_id("choice").first.click()
            idle(phone)
            box = phone.get_by_test_id("input")
            box.fill("Three days for a first answer")
            box.press("Enter")
            idle(phone)
            expect(phone.get_by_test_id("ended")).to_be_visible()
            expect(phone.get_by_test_id("input")).to_be_hidden()
            phone.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
            shown = phone.get_by_test_id("transcript").inner_text()
            # Each answer carried only its new messages: the page shows each message once.
            assert shown.count("How did Ana do on ticket T-1001?") == 1
            assert shown.count("Three days for a first answer") == 1
            # The conversation has ended: a late message is refused with the closed state,
            # and the page, reloaded, shows the whole conversation, ended.
            late = httpx.post(
                link + "/messages", json={"text": "hello?", "client_message_id": "late"}, timeout=10
            )
            assert late.status_code == 409 and late.json()["status"] == "done"
            phone.reload()
            idle(phone)
            expect(phone.get_by_test_id("ended")).to_be_visible()
            assert phone.get_by_test_id("transcript").inner_text() == shown
            assert "hello?" not in shown
            # The tab left open still shows the scale; pressing it shows the ended state.
            other.get_by_test_id("choice").first.click()
            idle(other)
            expect(other.get_by_test_id("ended")).to_be_visible()
            expect(other.get_by_test_id("error")).to_be_hidden()
            expect(other.get_by_test_id("choice")).to_have_count(0)
            assert other.get_by_test_id("transcript").inner_text() == shown
            assert outside == []

            desktop = browser.new_page(viewport={"width": 1024, "height": 768})
            desktop.goto(fi_link)
            idle(desktop)
            expect(desktop.locator("html")).to_have_attribute("lang", "fi")
            expect(desktop.get_by_test_id("msg-out").first).to_contain_text(
                "Miten Ana hoiti tiketin T-1001?"
            )
            desktop.get_by_test_id("input").fill("en osaa sanoa")  # no score: a re-prompt
            desktop.get_by_test_id("input").press("Enter")
            idle(desktop)
            desktop.get_by_test_id("input").fill("5 nopeaa palvelua")
            desktop.get_by_test_id("input").press("Enter")
            idle(desktop)
            expect(desktop.get_by_test_id("ended")).to_be_visible()
        finally:
            browser.close()

    responses = httpx.get(
        f"{server.url}/api/v1/responses",
        params={"survey": "support-csat"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ).json()
    by_contact = {r["contact"]: r for r in responses["data"]}
    assert responses["count"] == 2
    assert (
        by_contact["cust-42"]["score"],
        by_contact["cust-42"]["reason"],
        by_contact["cust-42"]["comment"],
    ) == (2, "Slow reply", "Three days for a first answer")
    assert by_contact["cust-42"]["properties"] == {"agent": "Ana", "ticket_id": "T-1001"}
    assert (by_contact["cust-43"]["score"], by_contact["cust-43"]["comment"]) == (
        5,
        "nopeaa palvelua",
    )

    report = server.cli("report", "--survey", "support-csat", "--json")
    assert report.returncode == 0, report.stderr
    assert '"responses": 2' in report.stdout and '"score": 50.0' in report.stdout
