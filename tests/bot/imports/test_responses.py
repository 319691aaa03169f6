"""`surveybot import responses`: all or nothing with each bad row named; re-imports add nothing."""

from __future__ import annotations

from pathlib import Path

from tests.bot.cli.cli_env import invoke, report, write_csv


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
