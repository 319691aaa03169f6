"""`surveybot campaigns` as a user runs it: add, list, pause, resume, run-now, and bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from storage.database import create_engine, session_factory
from storage.uow import UnitOfWork

runner = CliRunner()

SURVEYS = """\
surveys:
  - key: relationship-nps
    metric: nps
    question: "How likely are you to recommend us to a friend?"
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An SQLite database with one survey, three contacts, and email switched on."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    values = {
        "SURVEYBOT_DATABASE_URL": url,
        "SURVEYBOT_SMTP_HOST": "127.0.0.1",
        "SURVEYBOT_SMTP_FROM": "surveys@example.test",
    }
    path = tmp_path / "surveys.yaml"
    path.write_text(SURVEYS, encoding="utf-8")
    code, _, err = invoke(values, "surveys", "load", str(path))
    assert code == 0, err
    asyncio.run(_add_contacts(url))
    return values


async def _add_contacts(url: str) -> None:
    engine = create_engine(url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            for n, plan in enumerate(("pro", "pro", "free")):
                await uow.contacts.upsert(f"c{n}", {"email": f"c{n}@example.test"}, {"plan": plan})
            await uow.contacts.upsert("no-email", {}, {"plan": "pro"})
            await uow.commit()
    finally:
        await engine.dispose()


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def listed(env: dict[str, str]) -> list[dict[str, Any]]:
    code, out, err = invoke(env, "campaigns", "list", "--json")
    assert code == 0, err
    parsed: list[dict[str, Any]] = json.loads(out)
    return parsed


ADD = ("campaigns", "add", "quarterly", "--survey", "relationship-nps")


def test_every_command_has_help(env: dict[str, str]) -> None:
    for command in ("add", "list", "pause", "resume", "run-now"):
        code, out, _ = invoke(env, "campaigns", command, "--help")
        assert code == 0 and "Usage" in out


def test_add_list_and_update(env: dict[str, str]) -> None:
    code, out, err = invoke(
        env, *ADD, "--audience", "plan = pro", "--cron", "0 9 1 */3 *",
        "--timezone", "Europe/Helsinki", "--spread-days", "5", "--hours", "10:00-16:00",
    )  # fmt: skip
    assert code == 0, err
    assert "added campaign quarterly (cron 0 9 1 */3 *); next run 20" in out
    code, out, err = invoke({**env, "COLUMNS": "200"}, "campaigns", "list")
    assert code == 0 and "quarterly" in out and "plan = pro" in out and "active" in out
    (campaign,) = listed(env)
    assert campaign["survey"] == "relationship-nps" and campaign["cadence"] == "cron 0 9 1 */3 *"
    assert campaign["spec"]["spread"] == {"days": 5, "weekdays_only": True, "hours": "10:00-16:00"}
    assert campaign["next_fire_at"].endswith("07:00:00Z")  # 09:00 in Helsinki (winter)

    code, _, err = invoke(env, *ADD, "--every-months", "3")
    assert code == 1 and "already exists; add --update" in err
    code, out, err = invoke(env, *ADD, "--every-months", "3", "--at", "10:00", "--update")
    assert code == 0 and "updated campaign quarterly (every 3 months per person)" in out
    (campaign,) = listed(env)
    assert campaign["spec"]["every_months"] == 3 and campaign["spec"]["cron"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--cron", "0 9 * * *", "--every-months", "3"),
            "exactly one of --cron, --every-months, --before and --after",
        ),
        ((), "exactly one of --cron, --every-months, --before and --after"),
        (("--cron", "0 25 * * *"), "--cron: invalid cron line"),
        (("--cron", "0 9 * *"), "--cron: "),
        (("--every-months", "0"), "--every-months: "),
        (("--every-months", "3", "--at", "9am"), "--at: "),
        (("--cron", "0 9 * * *", "--audience", "plan = "), "--audience: "),
        (("--cron", "0 9 * * *", "--timezone", "Mars/Base"), "--timezone: "),
        (("--cron", "0 9 * * *", "--channel", "fax"), "--channel: "),
        (
            ("--cron", "0 9 * * *", "--channel", "sms"),
            "--channel: the sms channel is not configured",
        ),
        (("--cron", "0 9 * * *", "--hours", "09:00-17:00"), "add --spread-days"),
        (("--cron", "0 9 * * *", "--spread-days", "3", "--hours", "17-9"), "--hours: "),
        (("--cron", "0 9 * * *", "--spread-days", "0"), "--spread-days: "),
        (("--cron", "0 9 * * *", "--spread-days", "a week"), "--spread-days: "),
        (("--every-months", "three"), "--every-months: "),
        (("--cron", "0 9 * * *", "--at", "10:00"), "--at goes with --every-months"),
    ],
)
def test_bad_input_names_the_option_and_changes_nothing(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = invoke(env, *ADD, *args)
    assert code == 1 and message in err, err
    assert listed(env) == []


def test_unknown_survey_and_bad_name(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "campaigns", "add", "x", "--survey", "nope", "--cron", "0 9 * * *")
    assert code == 1 and "--survey: survey 'nope' does not exist" in err
    code, _, err = invoke(
        env, "campaigns", "add", "Bad Name", "--survey", "relationship-nps", "--every-months", "1"
    )
    assert code == 1 and "NAME: " in err
    assert listed(env) == []


def test_pause_resume_and_unknown_names(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--cron", "0 9 * * *")[0] == 0
    code, out, _ = invoke(env, "campaigns", "pause", "quarterly")
    assert code == 0 and "campaign quarterly paused" in out
    (campaign,) = listed(env)
    assert campaign["status"] == "paused" and campaign["next_fire_at"] is None
    code, out, _ = invoke(env, "campaigns", "resume", "quarterly")
    assert code == 0 and "campaign quarterly resumed; next run 20" in out
    assert listed(env)[0]["status"] == "active"
    for command in ("pause", "resume", "run-now"):
        code, _, err = invoke(env, "campaigns", command, "nope")
        assert code == 1 and "campaign 'nope' does not exist" in err


def test_run_now_executes_and_reports(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--audience", "plan = pro", "--cron", "0 9 1 */3 *")[0] == 0
    code, out, err = invoke(env, "campaigns", "run-now", "quarterly")
    assert code == 0, err
    assert "campaign quarterly: audience 3, invited 2, skipped 1" in out
    (campaign,) = listed(env)
    last = campaign["last_run"]
    assert (last["kind"], last["status"], last["invited"]) == ("manual", "done", 2)
    code, out, _ = invoke({**env, "COLUMNS": "200"}, "campaigns", "list")
    assert "audience 3: 2 invited, 1 skipped" in out


def test_delete_keeps_the_invitations(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--audience", "plan = pro", "--cron", "0 9 1 */3 *")[0] == 0
    assert invoke(env, "campaigns", "run-now", "quarterly")[0] == 0
    code, out, err = invoke(env, "campaigns", "delete", "quarterly")
    assert code == 0, err
    assert " ".join(out.split()) == (
        "deleted campaign quarterly and its 1 run; the 2 invitations it made stay,"
        " with their answers (2 not sent yet were cancelled)"
    )
    assert listed(env) == []
    code, out, err = invoke(env, "campaigns", "delete", "quarterly")
    assert code == 1 and out == "" and "campaign 'quarterly' does not exist" in err


def test_an_archived_survey_is_not_sent_by_a_campaign(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--cron", "0 9 1 */3 *")[0] == 0
    assert invoke(env, "surveys", "archive", "relationship-nps")[0] == 0
    code, _, err = invoke(env, "campaigns", "run-now", "quarterly")
    assert code == 1 and "survey 'relationship-nps' is archived" in err
    assert listed(env)[0]["last_run"] is None


def test_pausing_twice_and_resuming_an_active_campaign_say_so(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--cron", "0 9 * * *")[0] == 0
    code, out, _ = invoke(env, "campaigns", "resume", "quarterly")
    assert code == 0 and "campaign quarterly is already active; nothing changed; next run 20" in out
    assert invoke(env, "campaigns", "pause", "quarterly")[0] == 0
    code, out, _ = invoke(env, "campaigns", "pause", "quarterly")
    assert code == 0 and out.strip() == "campaign quarterly is already paused; nothing changed"
    assert listed(env)[0]["status"] == "paused"


def test_a_second_run_now_says_who_matches_and_when_they_are_due(env: dict[str, str]) -> None:
    assert invoke(env, *ADD, "--audience", "plan = free", "--every-months", "3")[0] == 0
    code, out, err = invoke(env, "campaigns", "run-now", "quarterly")
    assert code == 0, err
    assert "campaign quarterly: audience 1, invited 1, skipped 0" in out
    code, out, err = invoke({**env, "COLUMNS": "200"}, "campaigns", "run-now", "quarterly")
    assert code == 0, err
    assert "campaign quarterly: 1 contact matches the audience, none due now (next due 20" in out
    assert out.rstrip().endswith("), invited 0, skipped 0")


def test_the_list_keeps_every_value_whole_at_80_columns(env: dict[str, str]) -> None:
    audience = "plan IN (pro, enterprise, business-plus, '[bold]x[/bold]', ':smile:')"
    assert invoke(env, *ADD, "--audience", audience, "--cron", "0 9 1 */3 *")[0] == 0
    code, out, err = invoke({**env, "COLUMNS": "80"}, "campaigns", "list")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out
    cells = [line.split("│")[3] for line in out.splitlines() if line.startswith("│")]
    assert audience.replace(" ", "") in "".join(cells).replace(" ", "")


async def _set_properties(url: str, values: dict[str, dict[str, Any]]) -> None:
    engine = create_engine(url)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            for external_id, properties in values.items():
                await uow.contacts.upsert(external_id, {}, properties)
            await uow.commit()
    finally:
        await engine.dispose()


def test_a_campaign_after_each_contact_s_signup_date(env: dict[str, str]) -> None:
    today = datetime.now(UTC).date()
    asyncio.run(
        _set_properties(
            env["SURVEYBOT_DATABASE_URL"],
            {
                "c0": {"signup_date": (today - timedelta(days=30)).isoformat()},  # due today
                "c1": {"signup_date": (today - timedelta(days=10)).isoformat()},  # in 20 days
                "no-email": {"signup_date": (today - timedelta(days=30)).isoformat()},
            },  # c2 has no signup_date
        )
    )
    code, out, err = invoke(
        env, "campaigns", "add", "welcome", "--survey", "relationship-nps",
        "--after", "signup_date", "30d", "--grace-days", "1", "--at", "08:00",
    )  # fmt: skip
    assert code == 0, err
    assert "added campaign welcome (30 days after signup_date); next run 20" in out
    (campaign,) = listed(env)
    assert campaign["cadence"] == "30 days after signup_date"
    assert campaign["spec"]["relative_to"] == {
        "property": "signup_date",
        "before": None,
        "after": "30d",
        "grace_days": 1,
    }
    code, out, err = invoke({**env, "COLUMNS": "200"}, "campaigns", "run-now", "welcome")
    assert code == 0, err
    next_due = (today + timedelta(days=20)).isoformat()
    assert (
        f"campaign welcome: 4 contacts match the audience, 1 not due now (next due {next_due}"
        " 08:00 UTC); audience 3, invited 1, skipped 2 (no_address 1, no_date 1)"
    ) in out, out
    (campaign,) = listed(env)
    assert campaign["last_run"]["skipped_by_reason"] == {"no_address": 1, "no_date": 1}
    # The same day again: c0's date had its survey; no-email is still unreachable.
    code, out, err = invoke({**env, "COLUMNS": "200"}, "campaigns", "run-now", "welcome")
    assert code == 0, err
    assert "2 not due now (next due" in out, out
    assert "audience 2, invited 0, skipped 2 (no_address 1, no_date 1)" in out, out
    code, out, err = invoke(
        env, "campaigns", "add", "welcome", "--survey", "relationship-nps",
        "--before", "renewal_date", "6mo", "--update",
    )  # fmt: skip
    assert code == 0 and "updated campaign welcome (6 months before renewal_date)" in out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--before", "renewal_date", "six"), "--before: 'six' is not an offset"),
        (("--after", "signup_date", "13m"), "--after: '13m' is not an offset"),
        (("--before", "renewal date", "6mo"), "--before/--after: 'renewal date' is not a property"),
        (
            ("--before", "renewal_date", "6mo", "--cron", "0 9 * * *"),
            "give exactly one of --cron, --every-months, --before and --after",
        ),
        (
            ("--before", "renewal_date", "6mo", "--after", "signup_date", "1d"),
            "give exactly one of --cron, --every-months, --before and --after",
        ),
        (
            ("--cron", "0 9 * * *", "--grace-days", "2"),
            "--grace-days goes with --before or --after",
        ),
        (("--after", "signup_date", "1d", "--grace-days", "61"), "--grace-days: "),
        (("--after", "signup_date", "1d", "--grace-days", "soon"), "--grace-days: "),
    ],
)
def test_bad_date_cadences_name_the_option(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = invoke({**env, "COLUMNS": "200"}, *ADD, *args)
    assert code == 1 and message in " ".join(err.split()), err
    assert listed(env) == []
