"""The CLI as a user runs it: survey files, API keys, all-or-nothing CSV import, reports."""

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
    return {"SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
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


def test_every_command_has_help(env: dict[str, str]) -> None:
    for command in (
        ["serve"],
        ["surveys", "load"],
        ["apikey", "create"],
        ["import", "responses"],
        ["report"],
    ):
        code, out, _ = invoke(env, *command, "--help")
        assert code == 0 and "Usage" in out


def test_surveys_load_updates_and_refuses_bad_files(loaded: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "surveys.yaml"
    code, out, _ = invoke(loaded, "surveys", "load", str(path))
    assert code == 0 and "updated survey support-csat" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("surveys:\n  - key: x\n    metric: stars\n", encoding="utf-8")
    code, _, err = invoke(loaded, "surveys", "load", str(bad))
    assert code == 1 and "surveys.0.metric" in err
    code, _, err = invoke(loaded, "surveys", "load", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in err


def test_apikey_create_prints_key_last(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "apikey", "create", "helpdesk")
    assert code == 0 and out.strip().splitlines()[-1].startswith("sb_")


def test_import_is_all_or_nothing_and_names_the_row(loaded: dict[str, str], tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "c1,5,great,2026-10-01T10:00:00Z,email,Ana",
            "c2,9,,2026-10-02T10:00:00Z,sms,Ben",
            "c3,4,,yesterday,sms,Ben",
        ],
    )
    code, _, err = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 1
    assert "row 3: score 9 is outside the survey's scale 1-5" in err
    assert "row 4: answered_at 'yesterday'" in err
    assert report(loaded, "--survey", "support-csat")["responses"] == 0


def test_import_then_reimport_adds_nothing(loaded: dict[str, str], tmp_path: Path) -> None:
    rows = [
        f"c{i},{5 if i < 15 else 2},,2026-10-{1 + i % 28:02d}T10:00:00Z,email,{'Ana' if i % 2 else 'Ben'}"
        for i in range(25)
    ]
    path = write_csv(tmp_path, rows)
    code, out, err = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 0, err
    assert "imported 25" in out
    code, out, _ = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 0 and "imported 0" in out and "25 were already there" in out
    result = report(loaded, "--survey", "support-csat")
    assert (result["responses"], result["score"], result["positive"], result["small_sample"]) == (
        25,
        60.0,
        15,
        True,
    )
    grouped = report(loaded, "--survey", "support-csat", "--group-by", "agent")
    assert {g["group"]["agent"]: g["responses"] for g in grouped["groups"]} == {
        "Ana": 12,
        "Ben": 13,
    }  # type: ignore[index,union-attr]


def test_seed_examples(loaded: dict[str, str], tmp_path: Path) -> None:
    csat = ["c,4,,2026-09-01T00:00:00Z,web,"] * 40 + ["c,5,,2026-09-01T00:00:00Z,web,"] * 40
    csat += ["c,3,,2026-09-01T00:00:00Z,web,"] * 32
    # identical rows would be taken for re-imports: vary the contact
    csat = [row.replace("c,", f"c{i},", 1) for i, row in enumerate(csat)]
    code, _, err = invoke(
        loaded, "import", "responses", str(write_csv(tmp_path, csat)), "--survey", "support-csat"
    )
    assert code == 0, err
    result = report(loaded, "--survey", "support-csat")
    assert result["responses"] == 112 and round(result["score"], 2) == 71.43  # type: ignore[call-overload]

    nps = [
        f"n{i},{10 if i < 30 else 8 if i < 80 else 3},,2026-09-01T00:00:00Z,sms,"
        for i in range(100)
    ]
    code, _, err = invoke(
        loaded, "import", "responses", str(write_csv(tmp_path, nps)), "--survey", "relationship-nps"
    )
    assert code == 0, err
    result = report(loaded, "--survey", "relationship-nps")
    assert (result["promoters"], result["passives"], result["detractors"]) == (30, 50, 20)
    assert result["score"] == pytest.approx(10.0)
    assert result["small_sample"] is False


def test_report_periods_and_errors(loaded: dict[str, str], tmp_path: Path) -> None:
    rows = [
        "a,5,,2026-01-05T10:00:00Z,web,",
        "b,1,,2026-01-31T23:00:00Z,web,",
        "c,4,,2026-02-01T00:30:00+02:00,web,",  # still January in UTC
        "d,4,,2026-02-10T10:00:00Z,sms,",
    ]
    invoke(
        loaded, "import", "responses", str(write_csv(tmp_path, rows)), "--survey", "support-csat"
    )
    months = report(loaded, "--survey", "support-csat", "--group-by", "month")
    assert [(g["group"]["month"], g["responses"]) for g in months["groups"]] == [
        ("2026-01", 3),
        ("2026-02", 1),
    ]  # type: ignore[index,union-attr]
    weeks = report(loaded, "--survey", "support-csat", "--group-by", "week")
    assert [g["group"]["week"] for g in weeks["groups"]] == ["2026-W02", "2026-W05", "2026-W07"]  # type: ignore[index,union-attr]
    january = report(
        loaded, "--survey", "support-csat", "--from", "2026-01-01", "--to", "2026-01-31"
    )
    assert january["responses"] == 3
    by_channel = report(loaded, "--survey", "support-csat", "--group-by", "channel")
    assert {g["group"]["channel"]: g["responses"] for g in by_channel["groups"]} == {
        "web": 3,
        "sms": 1,
    }  # type: ignore[index,union-attr]
    code, _, err = invoke(loaded, "report", "--survey", "support-csat", "--from", "last week")
    assert code == 1 and "--from" in err
    code, _, err = invoke(loaded, "report", "--survey", "nope")
    assert code == 1 and "does not exist" in err
    code, out, _ = invoke(loaded, "report", "--survey", "support-csat")
    assert code == 0 and "CSAT" in out
