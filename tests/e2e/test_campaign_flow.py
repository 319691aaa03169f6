"""End to end: a CX team loads an audience and runs a campaign with the CLI; `serve` emails it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SURVEYBOT, running_server
from tests.standins.smtp_server import smtp_standin

SURVEYS = """\
surveys:
  - key: relationship-nps
    metric: nps
    question: "How likely are you to recommend Acme to a friend or colleague?"
"""
CUSTOMERS = """\
external_id,name,email,timezone,plan,region
acme-1,Aino,aino@example.com,Europe/Helsinki,pro,EU
acme-2,Bob,bob@example.com,America/New_York,pro,US
acme-3,Carla,carla@example.com,Europe/Madrid,free,EU
acme-4,Dev,dev@example.com,Asia/Kolkata,pro,APAC
acme-5,Eve,eve@example.com,,Pro,eu
"""


@pytest.mark.e2e
def test_campaign_from_the_cli_is_emailed_to_its_audience_once(tmp_path: Path) -> None:
    with smtp_standin() as smtp:
        env = smtp.settings()
        with running_server(tmp_path, env) as server:
            key = server.load_and_key(SURVEYS, tmp_path)
            (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
            imported = server.cli("contacts", "import", str(tmp_path / "customers.csv"))
            assert imported.returncode == 0, imported.stderr
            assert "imported 5 contacts: 5 created, 0 updated" in imported.stdout

            added = server.cli(
                "campaigns", "add", "quarterly-nps",
                "--survey", "relationship-nps",
                "--audience", "plan = pro AND region IN (EU, US)",
                "--cron", "0 9 1 */3 *",
                "--channel", "email",
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
            bad = server.cli(
                "campaigns", "add", "broken", "--survey", "relationship-nps",
                "--audience", "plan = pro AND", "--cron", "0 9 1 */3 *",
            )  # fmt: skip
            assert bad.returncode == 1 and "--audience" in bad.stderr

            ran = server.cli("campaigns", "run-now", "quarterly-nps")
            assert ran.returncode == 0, ran.stderr
            assert "audience 3, invited 3, skipped 0" in ran.stdout

            # The server's dispatcher picks the invitations up and emails them.
            received = smtp.wait_for(3, timeout=20)
            assert sorted(r.recipients for r in received) == [
                ("aino@example.com",),
                ("bob@example.com",),
                ("eve@example.com",),  # "Pro" and "eu": values compare without case
            ]
            body = received[0].message().get_body(("plain",))
            assert body is not None and "recommend Acme" in body.get_content()

            again = server.cli("campaigns", "run-now", "quarterly-nps")
            assert again.returncode == 0, again.stderr
            assert "invited 0, skipped 3" in again.stdout  # throttled: asked within 30 days
            time.sleep(1.5)  # three dispatcher ticks: nothing more goes out
            assert len(smtp.messages) == 3

            listed = httpx.get(
                f"{server.url}/api/v1/campaigns/quarterly-nps",
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            assert listed.status_code == 200, listed.text
            runs = listed.json()["recent_runs"]
            assert [(r["kind"], r["invited"], r["skipped"]) for r in runs] == [
                ("manual", 0, 3),
                ("manual", 3, 0),
            ]


@pytest.mark.e2e
def test_a_worker_runs_a_cron_campaign_at_its_time(tmp_path: Path) -> None:
    """`surveybot worker` holds the scheduler lease and fires a cron campaign on the real clock."""
    with smtp_standin() as smtp:
        env = {
            **smtp.settings(),
            "SURVEYBOT_SCHEDULER": "false",  # the serve process stays out: the worker schedules
        }
        with running_server(tmp_path, env) as server:
            server.load_and_key(SURVEYS, tmp_path)
            (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
            assert server.cli("contacts", "import", str(tmp_path / "customers.csv")).returncode == 0
            # Every minute: the next fire time is at most a minute away.
            added = server.cli(
                "campaigns", "add", "minutely", "--survey", "relationship-nps",
                "--audience", "region = APAC", "--cron", "* * * * *", "--channel", "email",
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
            worker_env = {**server.env, "SURVEYBOT_SCHEDULER": "true"}
            with (tmp_path / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [SURVEYBOT, "worker"], env=worker_env, stdout=log, stderr=subprocess.STDOUT
                )
            try:
                (message,) = smtp.wait_for(1, timeout=90)
                assert message.recipients == ("dev@example.com",)
                listed = server.cli("campaigns", "list", "--json")
                (campaign,) = json.loads(listed.stdout)
                assert campaign["last_run"]["kind"] == "scheduled"
                assert campaign["last_run"]["invited"] == 1
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=30) == 0
