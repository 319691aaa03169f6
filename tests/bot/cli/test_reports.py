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


def _column(out: str, index: int) -> str:
    """A table column's cells joined, however the 80 columns folded them over lines."""
    cells = [line.split("│")[index + 1] for line in out.splitlines() if line.startswith("│")]
    return "".join(cell.strip() for cell in cells)


def test_user_data_is_printed_as_text_whole_at_80_columns(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    long_name = "Anastasia-Papadopoulou-Konstantinidou-of-the-second-support-line"
    values = ["[/bold]", "[link=http://evil.example]click[/link]", ":smile:", long_name, ""]
    rows = [f"c{n},{5 - n},,2026-09-01T00:00:00Z,web,{v}" for n, v in enumerate(values)]
    path = write_csv(tmp_path, rows)
    assert invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")[0] == 0
    code, out, err = invoke(
        {**loaded, "COLUMNS": "80"}, "report", "--survey", "support-csat", "--group-by", "agent"
    )
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    groups = _column(out, 0)
    for value in values[:-1]:
        assert f"agent={value}" in groups  # not markup, not an emoji code, not cut with "…"
    assert "agent=(none)" in groups and "None" not in out and "…" not in out
    # a Wilson interval is an interval, not "± margin"
    assert "95 % CI" in out and "±" not in out
    assert _column(out, 3).startswith("11.8–76.9 %")  # all: 2 positive of 5, Wilson


def test_unknown_group_and_backwards_period_are_refused(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, ["a,5,,2026-01-05T10:00:00Z,web,Ana"])
    assert invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")[0] == 0
    code, _, err = invoke(loaded, "report", "--survey", "support-csat", "--group-by", "agnet")
    assert code == 1
    assert "--group-by: cannot group by 'agnet'" in err
    assert "group by channel, reason, day, week, month, quarter, year or a property: agent" in err
    code, _, err = invoke(
        loaded, "report", "--survey", "support-csat", "--from", "2026-02-01", "--to", "2026-01-31"
    )
    assert code == 1 and "--from 2026-02-01 must be before --to 2026-01-31" in err
    by_reason = report(loaded, "--survey", "support-csat", "--group-by", "reason")
    assert [g["group"] for g in by_reason["groups"]] == [{"reason": None}]  # type: ignore[union-attr]


def test_the_funnel_line_ends_with_the_fallbacks_when_a_channel_failed() -> None:
    from bot.cli.reports import _funnel_line

    funnel = {
        "triggered": 3, "skipped": {}, "pending": 0, "cancelled": 0, "failed": 1, "sent": 2,
        "delivered": 2, "reminded": 0, "opened": 0, "answered": 1, "answered_after_reminder": 0,
        "commented": 0, "completed": 1, "response_rate": 0.5, "reached": {"sms": 2},
        "fell_back": 2, "channel_failures": {"telegram": {"refused": 2}, "sms": {"undelivered": 1}},
    }  # fmt: skip
    assert _funnel_line(funnel).endswith(
        "response rate 50.0 %; 2 sent after a fallback; channels failed: sms undelivered 1,"
        " telegram refused 2"
    )
    assert _funnel_line({**funnel, "channel_failures": {}}).endswith("response rate 50.0 %")
