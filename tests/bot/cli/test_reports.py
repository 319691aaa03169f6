"""`surveybot report`: the scores of imported responses, periods, groups and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.cli.cli_env import invoke, report, write_csv


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
