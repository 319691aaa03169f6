"""What the CLI tests share: a runner, an SQLite database, the surveys loaded, CSVs and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app

runner = CliRunner()

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How satisfied are you with the support you received?"
  - key: relationship-nps
    metric: nps
    question: {en: "How likely are you to recommend us to a friend?", zh: "您向朋友推荐我们的可能性有多大？"}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI run on a fresh SQLite database."""
    return {"SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`env` with the two surveys of SURVEYS loaded by `surveybot surveys load`."""
    path = tmp_path / "surveys.yaml"
    path.write_text(SURVEYS, encoding="utf-8")
    code, out, err = invoke(env, "surveys", "load", str(path))
    assert code == 0, err
    assert "created survey support-csat" in out and "created survey relationship-nps" in out
    return env


def write_csv(
    tmp_path: Path, rows: list[str], header: str = "contact,score,comment,answered_at,channel,agent"
) -> Path:
    path = tmp_path / "responses.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def report(env: dict[str, str], *args: str) -> dict[str, object]:
    code, out, err = invoke(env, "report", *args, "--json")
    assert code == 0, err
    parsed: dict[str, object] = json.loads(out)
    return parsed
