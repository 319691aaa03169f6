"""What every command shares: bad settings refused in one line, flags shown as flags in help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.common import plural
from bot.cli.main import app
from tests.bot.cli.cli_env import SURVEYS, invoke

SURVEYBOT = str(Path(sys.executable).with_name("surveybot"))
SECRET = "a-secret-of-sixteen-plus"


def _bad_settings(tmp_path: Path) -> list[tuple[dict[str, str], str]]:
    """(settings, what the one line must name) for every kind of bad or half-given setting."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("surveys: [\n", encoding="utf-8")
    return [
        ({"SURVEYBOT_WEBHOOK_SECRETS": "{"}, "SURVEYBOT_WEBHOOK_SECRETS is not valid JSON"),
        ({"SURVEYBOT_SMTP_HOST": "127.0.0.1"}, "SURVEYBOT_SMTP_FROM is not set"),
        ({"SURVEYBOT_SMTP_FROM": "s@example.test"}, "SURVEYBOT_SMTP_HOST is not set"),
        (
            {"SURVEYBOT_TWILIO_ACCOUNT_SID": "AC0123"},
            "SURVEYBOT_TWILIO_AUTH_TOKEN and SURVEYBOT_TWILIO_FROM_NUMBER,"
            " SURVEYBOT_TWILIO_MESSAGING_SERVICE_SID or SURVEYBOT_WHATSAPP_FROM are not set",
        ),
        (
            {"SURVEYBOT_TWILIO_ACCOUNT_SID": "AC0123", "SURVEYBOT_TWILIO_AUTH_TOKEN": "token"},
            "SURVEYBOT_TWILIO_FROM_NUMBER, SURVEYBOT_TWILIO_MESSAGING_SERVICE_SID or"
            " SURVEYBOT_WHATSAPP_FROM is not set",
        ),
        (
            {"SURVEYBOT_WHATSAPP_FROM": "+14155550100"},
            "SURVEYBOT_TWILIO_ACCOUNT_SID and SURVEYBOT_TWILIO_AUTH_TOKEN are not set",
        ),
        ({"SURVEYBOT_WHATSAPP_FROM": "14155550100"}, "SURVEYBOT_WHATSAPP_FROM"),
        ({"SURVEYBOT_ZENDESK_WEBHOOK_SECRET": SECRET}, "SURVEYBOT_HELPDESK_SURVEY is not set"),
        (
            {"SURVEYBOT_TELEGRAM_WEBHOOK_SECRET": SECRET},
            "SURVEYBOT_TELEGRAM_BOT_TOKEN is not set",
        ),
        ({"SURVEYBOT_SMTP_USERNAME": "me"}, "SURVEYBOT_SMTP_PASSWORD is not set"),
        ({"SURVEYBOT_PORT": "eighty"}, "SURVEYBOT_PORT: Input should be a valid integer"),
        ({"SURVEYBOT_SURVEYS_FILE": str(broken)}, "SURVEYBOT_SURVEYS_FILE: "),
        (
            {"SURVEYBOT_SURVEYS_FILE": str(tmp_path / "missing.yaml")},
            "SURVEYBOT_SURVEYS_FILE: cannot read",
        ),
        (
            {"SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"},
            "check SURVEYBOT_DATABASE_URL",
        ),
        (  # nothing listens on port 1
            {"SURVEYBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"},
            "check SURVEYBOT_DATABASE_URL",
        ),
        (
            {"SURVEYBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/no_such_db_h4"},
            'database "no_such_db_h4" does not exist',
        ),
    ]


COMMANDS = [
    ["report", "--survey", "support-csat"],
    ["campaigns", "list"],
    ["surveys", "load", "surveys.yaml"],
    ["import", "responses", "responses.csv", "--survey", "support-csat"],
]


def test_every_bad_setting_stops_every_command_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "surveys.yaml").write_text(SURVEYS, encoding="utf-8")
    (tmp_path / "responses.csv").write_text("contact,score\nc1,5\n", encoding="utf-8")
    refused = 0
    for settings, named in _bad_settings(tmp_path):
        for command in COMMANDS:
            args = [str(tmp_path / a) if a.endswith((".yaml", ".csv")) else a for a in command]
            result = CliRunner().invoke(app, args, env={**env, **settings})
            assert result.exit_code == 1, (settings, command, result.stdout, result.exception)
            assert isinstance(result.exception, SystemExit), (settings, command)  # no traceback
            line = result.stderr.strip()
            assert line.startswith("error: ") and "\n" not in line, (settings, command, line)
            assert named in line, (settings, command, line)
            refused += 1
    assert refused == len(_bad_settings(tmp_path)) * len(COMMANDS)


def test_a_bad_setting_stops_serve_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBOT_")}
    for settings, named in _bad_settings(tmp_path)[:2]:
        done = subprocess.run(
            [SURVEYBOT, "serve", "--port", "1"],
            env={**env, "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", **settings},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1 and named in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command and group of the CLI, as the words that name it."""
    found = [list(path)]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


@pytest.mark.parametrize(
    "command",
    _commands(typer.main.get_command(app)),
    ids=lambda words: " ".join(words) or "surveybot",
)
def test_help_fits_80_columns_and_flags_take_no_value(
    env: dict[str, str], command: list[str]
) -> None:
    code, out, _ = invoke({**env, "COLUMNS": "80"}, *command, "--help")
    assert code == 0 and "Usage" in out
    assert "<bool>" not in out  # `--json`, `--dry-run`, `--help` take no value
    assert max(len(line) for line in out.splitlines()) <= 80


def test_plural() -> None:
    assert (plural(1, "response"), plural(2, "response"), plural(0, "bad row")) == (
        "1 response",
        "2 responses",
        "0 bad rows",
    )
    assert plural(3, "entry", "entries") == "3 entries"
