"""End to end: campaigns timed by each contact's own date, through `surveybot serve` and the CLI.

The server runs on the real clock, so dates are written relative to today in each contact's
zone. Where a test needs days to have passed (downtime, missed days), it stops the server and
moves the campaign's creation back in the database file, as if it had been added days ago.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import Server, running_server
from tests.standins.smtp_server import smtp_standin

SURVEYS = """\
surveys:
  - key: renewal-nps
    metric: nps
    question: "Your renewal is coming up: how likely are you to recommend Acme?"
"""
KIRITIMATI, PAGO_PAGO = "Pacific/Kiritimati", "Pacific/Pago_Pago"  # UTC+14, UTC-11


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def renewal_for(target: date) -> str:
    """The renewal date that a campaign 30 days before it makes due on `target`."""
    return (target + timedelta(days=30)).isoformat()


def api(server: Server, key: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
        **kwargs,
    )


def last_run(server: Server, name: str) -> dict[str, Any]:
    listed = server.cli("campaigns", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (campaign,) = [c for c in json.loads(listed.stdout) if c["name"] == name]
    run: dict[str, Any] = campaign["last_run"]
    return run


def import_csv(server: Server, tmp_path: Path, text: str) -> Any:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return server.cli("contacts", "import", str(path))


def wide(server: Server, *args: str) -> Any:
    """A CLI command whose output lines are not wrapped at 80 columns."""
    return replace(server, env={**server.env, "COLUMNS": "250"}).cli(*args)


@pytest.mark.e2e
def test_each_contact_is_asked_on_their_own_day_in_their_zone_once_per_date(
    tmp_path: Path,
) -> None:
    """Kiritimati is a day or two ahead of Pago Pago: each is asked on their own day only."""
    with smtp_standin() as smtp, running_server(tmp_path, smtp.settings()) as server:
        server.load_and_key(SURVEYS, tmp_path)
        kiri, pago, utc = today_in(KIRITIMATI), today_in(PAGO_PAGO), today_in("UTC")
        imported = import_csv(
            server,
            tmp_path,
            "external_id,email,timezone,renewal_date\n"
            f"kiri,kiri@example.com,{KIRITIMATI},{renewal_for(kiri)}\n"
            f"pago,pago@example.com,{PAGO_PAGO},{renewal_for(pago)}\n"
            f"utc,utc@example.com,,{renewal_for(utc)}\n"  # no zone: the campaign's (UTC)
            f"pago-ahead,pago-ahead@example.com,{PAGO_PAGO},{renewal_for(kiri)}\n"  # not yet
            f"kiri-behind,kiri-behind@example.com,{KIRITIMATI},{renewal_for(pago)}\n"  # passed
            "undated,undated@example.com,,\n",
        )
        assert imported.returncode == 0, imported.stderr

        added = server.cli(
            "campaigns", "add", "renewals", "--survey", "renewal-nps",
            "--before", "renewal_date", "30d", "--channel", "email",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "added campaign renewals (30 days before renewal_date)" in added.stdout

        ran = wide(server, "campaigns", "run-now", "renewals")
        assert ran.returncode == 0, ran.stderr
        assert "campaign renewals: 6 contacts match the audience, 2 not due now (next due" in (
            ran.stdout
        )
        assert "audience 4, invited 3, skipped 1 (no_date 1)" in ran.stdout, ran.stdout
        received = smtp.wait_for(3, timeout=20)
        assert sorted(r.recipients[0] for r in received) == [
            "kiri@example.com",
            "pago@example.com",
            "utc@example.com",
        ]

        # The same day again: their dates had their survey.
        again = wide(server, "campaigns", "run-now", "renewals")
        assert again.returncode == 0, again.stderr
        assert "audience 1, invited 0, skipped 1 (no_date 1)" in again.stdout, again.stdout
        time.sleep(1.5)  # three dispatcher ticks: nothing more goes out
        assert len(smtp.messages) == 3


@pytest.mark.e2e
def test_bad_dates_are_refused_by_the_import_and_the_contacts_api(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        key = server.load_and_key(SURVEYS, tmp_path)
        refused = import_csv(
            server,
            tmp_path,
            "external_id,email,renewal_date,signup_date\n"
            "ok,ok@example.com,2027-05-31,2026-01-15\n"
            "us-style,us@example.com,05/31/2027,\n"
            "no-such-day,,2027-02-30,20260115\n",
        )
        assert refused.returncode == 1
        problems = " ".join(refused.stderr.split())
        assert "nothing imported: 2 bad rows:" in problems
        assert "line 3 (us-style): renewal_date '05/31/2027': not an ISO 8601 date" in problems
        assert "line 4 (no-such-day): renewal_date '2027-02-30': not a day of the calendar" in (
            problems
        )
        assert api(server, key, "GET", "/contacts/ok").status_code == 404  # all or nothing

        saved = api(
            server, key, "POST", "/contacts",
            json={"external_id": "ok", "properties": {"renewal_date": "20270531"}},
        )  # fmt: skip
        assert saved.status_code == 200, saved.text
        assert saved.json()["properties"] == {"renewal_date": "2027-05-31"}
        bad = api(
            server, key, "POST", "/contacts",
            json={"external_id": "ok", "properties": {"renewal_date": "31.05.2027"}},
        )  # fmt: skip
        assert bad.status_code == 422
        (error,) = bad.json()["detail"]
        assert error["loc"] == ["body", "properties", "renewal_date"]
        assert "not an ISO 8601 date; use YYYY-MM-DD" in error["msg"]


@pytest.mark.e2e
def test_the_api_runs_a_date_campaign_and_counts_who_has_no_usable_date(tmp_path: Path) -> None:
    """`contract_end` is not named …_date, so the import keeps any text; the run counts it."""
    with smtp_standin() as smtp, running_server(tmp_path, smtp.settings()) as server:
        key = server.load_and_key(SURVEYS, tmp_path)
        ends_today = today_in("Europe/Helsinki").isoformat()
        imported = import_csv(
            server,
            tmp_path,
            "external_id,email,contract_end\n"
            f"ending,ending@example.com,{ends_today}\n"
            "written-out,written@example.com,end of June\n"
            "blank,blank@example.com,\n",
        )
        assert imported.returncode == 0, imported.stderr
        spec = {
            "name": "contract-end",
            "survey": "renewal-nps",
            "relative_to": {"property": "contract_end", "after": "0d"},
            "timezone": "Europe/Helsinki",
            "at": "10:00",
            "channel": "email",
        }
        created = api(server, key, "POST", "/campaigns", json=spec)
        assert created.status_code == 201, created.text
        assert created.json()["cadence"] == "on contract_end"
        assert created.json()["next_fire_at"].endswith(("07:00:00Z", "08:00:00Z"))  # 10:00 there
        refused = api(
            server, key, "POST", "/campaigns",
            json={**spec, "name": "x", "relative_to": {"property": "contract_end", "after": "1y"}},
        )  # fmt: skip
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "relative_to", "after"]

        started = api(server, key, "POST", "/campaigns/contract-end/runs")
        assert started.status_code == 202, started.text
        (message,) = smtp.wait_for(1, timeout=20)
        assert message.recipients == ("ending@example.com",)
        deadline = time.monotonic() + 20
        while (run := api(server, key, "GET", "/campaigns/contract-end/runs").json()["data"][0])[
            "status"
        ] != "done":
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert (run["audience"], run["invited"], run["skipped"]) == (3, 1, 2)
        assert run["skipped_by_reason"] == {"bad_date": 1, "no_date": 1}


def _stored(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy stores it in an SQLite file."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.e2e
def test_after_downtime_a_restart_catches_up_within_the_grace_and_counts_the_missed(
    tmp_path: Path,
) -> None:
    """A campaign added ten days ago whose server was down since: when `serve` starts again,
    its scheduler runs the campaign at once, asks those whose day was at most 3 days ago and
    counts the older ones as missed. A date moved afterwards gets its own survey."""
    fire = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    day = fire.date()  # the scheduled run's day: today's check at `at` has passed
    with smtp_standin() as smtp:
        env = {**smtp.settings(), "SURVEYBOT_SCHEDULER": "false"}
        with running_server(tmp_path, env) as server:
            server.load_and_key(SURVEYS, tmp_path)
            rows = "".join(
                f"{name},{name}@example.com,{renewal_for(day - timedelta(days=back))}\n"
                for name, back in (("today", 0), ("two-ago", 2), ("five-ago", 5),
                                   ("eight-ago", 8), ("twelve-ago", 12))
            )  # fmt: skip
            imported = import_csv(server, tmp_path, "external_id,email,renewal_date\n" + rows)
            assert imported.returncode == 0, imported.stderr
            added = server.cli(
                "campaigns", "add", "renewals", "--survey", "renewal-nps",
                "--before", "renewal_date", "30d", "--grace-days", "3",
                "--at", fire.strftime("%H:%M"), "--channel", "email",
            )  # fmt: skip
            assert added.returncode == 0, added.stderr

        # Stopped: as if the campaign had been added ten days ago and nothing had run since.
        with closing(sqlite3.connect(tmp_path / "e2e.db")) as db, db:
            ten_days_ago = _stored(fire - timedelta(days=10))
            db.execute(
                "UPDATE campaign SET created_at = ?, updated_at = ? WHERE name = 'renewals'",
                (ten_days_ago, ten_days_ago),
            )

        with running_server(tmp_path, smtp.settings()) as server:
            received = smtp.wait_for(2, timeout=30)
            assert sorted(r.recipients[0] for r in received) == [
                "today@example.com",
                "two-ago@example.com",
            ]
            deadline = time.monotonic() + 20
            while (run := last_run(server, "renewals"))["status"] != "done":
                assert time.monotonic() < deadline, run
                time.sleep(0.2)
            assert (run["kind"], run["scheduled_for"][:16]) == (
                "scheduled",
                fire.strftime("%Y-%m-%dT%H:%M"),
            )
            # five-ago and eight-ago: missed; twelve-ago's day was before the campaign existed.
            assert (run["audience"], run["invited"], run["skipped"]) == (4, 2, 2)
            assert run["skipped_by_reason"] == {"missed": 2}

            # five-ago's renewal moves to a date whose day was yesterday: a new date, caught up.
            key = server.cli("apikey", "create", "e2e").stdout.strip().splitlines()[-1]
            moved = api(
                server, key, "POST", "/contacts",
                json={"external_id": "five-ago",
                      "properties": {"renewal_date": renewal_for(day - timedelta(days=1))}},
            )  # fmt: skip
            assert moved.status_code == 200, moved.text
            ran = wide(server, "campaigns", "run-now", "renewals")
            assert ran.returncode == 0, ran.stderr
            assert "audience 1, invited 1, skipped 0" in ran.stdout, ran.stdout
            (*_, third) = smtp.wait_for(3, timeout=20)
            assert third.recipients == ("five-ago@example.com",)
            time.sleep(1.5)
            assert len(smtp.messages) == 3  # nobody's unchanged date was asked twice
