"""End to end: an email survey through a real SMTP server; a scanner's GET, then Chromium answers."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import Server, running_server
from tests.e2e.test_webchat_flow import CHROMIUM, CHROMIUM_ARGS, idle
from tests.standins.smtp_server import smtp_standin

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How did {agent} do on ticket {ticket_id}?"
    labels: {low: "Very unhappy", high: "Very happy"}
"""


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if tag == "a" and k == "href" and v]


def rating_links(message: EmailMessage) -> dict[int, str]:
    html = message.get_body(("html",))
    assert html is not None
    parser = _Hrefs()
    parser.feed(html.get_content())
    return {int(parse_qs(urlsplit(h).query)["score"][0]): h for h in parser.hrefs if "/r/" in h}


def responses(server: Server, key: str) -> dict[str, Any]:
    reply = httpx.get(
        f"{server.url}/api/v1/responses",
        params={"survey": "support-csat"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.mark.e2e
def test_email_survey_scanner_safe_links_to_stored_response(tmp_path: Path) -> None:
    with smtp_standin() as smtp:
        env = smtp.settings()
        with running_server(tmp_path, env) as server:
            key = server.load_and_key(SURVEYS, tmp_path)

            reply = httpx.post(
                f"{server.url}/api/v1/triggers",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "survey": "support-csat",
                    "channel": "email",
                    "contact": {"external_id": "cust-7", "email": "ana@example.com"},
                    "properties": {"agent": "Ana", "ticket_id": "T-1001"},
                },
                timeout=10,
            )
            assert reply.status_code == 202, reply.text
            assert (reply.json()["status"], reply.json()["channel"]) == ("scheduled", "email")

            message = smtp.wait_for(1, timeout=15)[0].message()
            assert message["To"] == "ana@example.com"
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            links = rating_links(message)
            assert sorted(links) == [1, 2, 3, 4, 5]
            assert all(url.startswith(f"{server.url}/r/") for url in links.values())

            scanner = httpx.get(links[1], timeout=10)  # a mail scanner opens every link
            assert scanner.status_code == 200 and "Confirm score 1" in scanner.text
            assert responses(server, key)["count"] == 0

            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page(viewport={"width": 360, "height": 640})
                    outside: list[str] = []
                    page.on(
                        "request",
                        lambda r: None if r.url.startswith(server.url) else outside.append(r.url),
                    )
                    page.goto(links[4])
                    page.wait_for_url(f"{server.url}/s/**", timeout=10_000)
                    idle(page)
                    recorded = responses(server, key)["data"]
                    assert [(r["score"], r["channel"]) for r in recorded] == [(4, "email")]
                    expect(page.get_by_test_id("msg-out").first).to_contain_text(
                        "How did Ana do on ticket T-1001?"
                    )
                    expect(page.get_by_test_id("msg-in").first).to_have_text("4")
                    expect(page.get_by_test_id("msg-out").last).to_contain_text("Great to hear!")
                    box = page.get_by_test_id("input")
                    box.fill("Quick and friendly")
                    box.press("Enter")
                    idle(page)
                    expect(page.get_by_test_id("ended")).to_be_visible()
                    page.screenshot(path=str(tmp_path / "email-chat.png"), full_page=True)
                    assert outside == []
                finally:
                    browser.close()

            (stored,) = responses(server, key)["data"]
            assert (stored["contact"], stored["score"], stored["comment"]) == (
                "cust-7",
                4,
                "Quick and friendly",
            )
            assert len(smtp.messages) == 1
