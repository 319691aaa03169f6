"""`surveybot serve` says which channels and which help-desk receivers are on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bot.cli.serve import receivers_on
from tests.conftest import make_settings
from tests.e2e.conftest import SURVEYBOT, running_server

SECRET = "a-secret-of-sixteen-plus"


def test_receivers_on_names_each_webhook(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert receivers_on(make_settings(url)) == "none"
    both = make_settings(
        url,
        webhook_secrets={"desk": SECRET, "crm": SECRET},
        zendesk_webhook_secret=SECRET,
        helpdesk_survey="support-csat",
    )
    assert receivers_on(both) == (
        "/webhooks/events/crm, /webhooks/events/desk, /webhooks/zendesk (survey support-csat)"
    )


def test_serve_prints_the_receivers_beside_the_channels(tmp_path: Path) -> None:
    settings = {
        "SURVEYBOT_WEBHOOK_SECRETS": json.dumps({"crm": SECRET}),
        "SURVEYBOT_ZENDESK_WEBHOOK_SECRET": SECRET,
        "SURVEYBOT_HELPDESK_SURVEY": "support-csat",
    }
    with running_server(tmp_path, settings):
        pass
    printed = (tmp_path / "serve.log").read_text()
    assert (
        "channels on: web; receivers on: /webhooks/events/crm,"
        " /webhooks/zendesk (survey support-csat)" in printed
    )


def test_serve_refuses_a_surveys_file_the_database_refuses_in_one_line(tmp_path: Path) -> None:
    surveys = tmp_path / "surveys.yaml"
    surveys.write_text(
        'surveys:\n  - key: a\n    metric: csat\n    quiet_hours: {fax: ["21:00", "08:00"]}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBOT_")} | {
        "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "SURVEYBOT_SURVEYS_FILE": str(surveys),
        "SURVEYBOT_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [SURVEYBOT, "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == (
        f"error: SURVEYBOT_SURVEYS_FILE: {surveys}: survey 'a': quiet_hours: 'fax' is not a "
        "channel; use 'telegram', 'sms', 'whatsapp', 'email' or 'web'"
    )
