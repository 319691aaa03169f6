"""Screenshots of the dashboard for docs/dashboard.md, taken from a real `surveybot serve`.

Starts the server on a temporary SQLite file, seeds it as the end-to-end test does
(tests/e2e/dashboard_seed.py), signs in with a read key in headless Chromium (every request to
another host refused) and writes dashboard-desktop.png (1280×800) and dashboard-phone.png
(360×640), full page, next to this script. Run from the repository root:

    .venv/bin/python docs/screenshots/take.py
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, Route, sync_playwright  # noqa: E402

from tests.e2e.conftest import running_server  # noqa: E402
from tests.e2e.dashboard_seed import SURVEY, seed, wait_for_themes  # noqa: E402
from tests.e2e.test_webchat_flow import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = {"desktop": (1280, 800), "phone": (360, 640)}


def only_loopback(route: Route) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url)
    page.fill("input[name=key]", key)
    page.click("form[action='/dashboard/signin'] button[type=submit]")
    page.wait_for_url(url)


def main() -> None:
    today = datetime.now(UTC).date()
    # Ninety days: a weekly trend with a gap-free band and enough answers per agent.
    since = (today - timedelta(days=89)).isoformat()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        seeded = seed(server, Path(tmp), today=today)
        wait_for_themes(server, seeded.read_key)
        url = f"{server.url}/dashboard/surveys/{SURVEY}?from={since}&to={today.isoformat()}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                for name, (width, height) in SIZES.items():
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    page.route("**/*", only_loopback)
                    sign_in(page, url, seeded.read_key)
                    target = HERE / f"dashboard-{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"wrote {target.relative_to(ROOT)}")
                    context.close()
            finally:
                browser.close()


if __name__ == "__main__":
    main()
