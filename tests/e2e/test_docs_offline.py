"""End to end: the API docs (/docs) render in headless Chromium with the outside world cut off."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect, sync_playwright

from tests.e2e.conftest import Server
from tests.e2e.test_webchat_flow import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.e2e
def test_docs_render_without_any_outside_request(server: Server) -> None:
    outside: list[str] = []
    served: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            served.append(url)
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            page.goto(f"{server.url}/docs")
            # An operation of the API, drawn by Swagger UI from /openapi.json.
            expect(
                page.locator(".opblock-summary-path", has_text="/api/v1/triggers")
            ).to_be_visible()
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("surveybot")
            page.locator(".opblock-summary-path", has_text="/api/v1/triggers").first.click()
            expect(page.locator(".opblock-body").first).to_be_visible()  # an operation opens
            page.wait_for_load_state("networkidle")  # late requests (images, fonts) count too
        finally:
            browser.close()
    assert outside == []
    assert any(url.endswith(".js") for url in served)  # the assets came from surveybot itself
