"""`surveybot comments`, `themes`, `export responses` and `report`'s new options, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.bot.cli.cli_env import invoke, report, write_csv

ROWS = [
    "a,5,Quick and friendly,2026-10-02T10:00:00Z,sms,Ana",
    "b,1,=cmd|' /C calc'!A0,2026-10-03T10:00:00Z,email,Ben",
    "c,2,Waited three days,2026-10-04T10:00:00Z,sms,Ben",
    "d,4,,2026-11-04T10:00:00Z,sms,Ana",
    "e,3,[/bold] not markup,2026-11-05T10:00:00Z,web,Ana",
]


def imported(loaded: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = write_csv(tmp_path, ROWS)
    code, _, err = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 0, err
    return loaded


def test_report_groups_by_several_fields_filters_and_compares(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    env = imported(loaded, tmp_path)
    result = report(
        env, "--survey", "support-csat", "--group-by", "month", "--group-by", "agent",
        "--channel", "sms",
    )  # fmt: skip
    assert result["responses"] == 3
    groups = {tuple(g["group"].values()): g["responses"] for g in result["groups"]}  # type: ignore[union-attr,index]
    assert groups == {("2026-10", "Ana"): 1, ("2026-10", "Ben"): 1, ("2026-11", "Ana"): 1}
    november = report(
        env, "--survey", "support-csat", "--from", "2026-11-01", "--to", "2026-11-30",
        "--compare", "previous", "--property", "agent=Ana",
    )  # fmt: skip
    comparison = november["comparison"]
    assert isinstance(comparison, dict)
    assert (
        comparison["previous"]["responses"] == 1 and comparison["test"] == "two-proportion z-test"
    )
    code, out, err = invoke(
        env, "report", "--survey", "support-csat", "--from", "2026-11-01", "--to", "2026-11-30",
        "--compare", "previous",
    )  # fmt: skip
    assert code == 0, err
    assert "change against 2026-10-01…2026-11-01" in out
    assert "not significant at 95 %" in out
    assert "more responses would bring the margin of error down to 5 points" in out


def test_report_refuses_bad_options_in_one_sentence(loaded: dict[str, str], tmp_path: Path) -> None:
    env = imported(loaded, tmp_path)
    for args, words in [
        (["--band", "promoter"], "--band: band 'promoter' does not apply to this CSAT survey"),
        (["--property", "agent"], "--property 'agent': write NAME=VALUE"),
        (["--compare", "previous"], "--compare: compare=previous needs a period"),
        (["--group-by", "month,month"], "--group-by: a field is named twice"),
    ]:
        code, out, err = invoke(env, "report", "--survey", "support-csat", *args)
        assert code == 1, (args, out)
        assert words in err, (args, err)
        assert "Traceback" not in err


def test_comments_lists_newest_first_with_filters(loaded: dict[str, str], tmp_path: Path) -> None:
    env = imported(loaded, tmp_path)
    code, out, err = invoke(env, "comments", "--survey", "support-csat", "--band", "negative")
    assert code == 0, err
    assert out.index("Waited three") < out.index("=cmd|'")  # newest first (cells may wrap)
    assert "1–2 of 2 responses, newest first" in out
    code, out, _ = invoke(env, "comments", "--survey", "support-csat", "--search", "[/bold]")
    assert "[/bold] not markup" in out  # printed as text, not read as markup
    code, out, _ = invoke(
        env, "comments", "--survey", "support-csat", "--channel", "sms", "--json", "--limit", "1"
    )
    body = json.loads(out)
    assert body["count"] == 3 and len(body["data"]) == 1
    assert body["data"][0]["band"] == "positive" and body["data"][0]["properties"] == {
        "agent": "Ana"
    }


def test_export_writes_a_safe_csv_file(loaded: dict[str, str], tmp_path: Path) -> None:
    env = imported(loaded, tmp_path)
    target = tmp_path / "out.csv"
    code, out, err = invoke(
        env, "export", "responses", "--survey", "support-csat", "--output", str(target)
    )
    assert code == 0, err
    assert "exported 5 responses to" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["contact"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert rows[1]["comment"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["agent"] == "Ana" and rows[0]["band"] == "positive"
    code, out, err = invoke(
        env, "export", "responses", "--survey", "support-csat", "--property", "agent=Ben"
    )
    assert code == 0, err
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2  # to standard output
    code, _, err = invoke(
        env, "export", "responses", "--survey", "nope", "--output", str(tmp_path / "x.csv")
    )
    assert code == 1 and "survey 'nope' does not exist" in err
    assert not (tmp_path / "x.csv").exists()
    code, _, err = invoke(
        env,
        "export",
        "responses",
        "--survey",
        "support-csat",
        "--output",
        str(tmp_path / "no" / "x.csv"),
    )
    assert code == 1 and "--output: cannot write" in err


def test_themes_proposes_without_named_themes(loaded: dict[str, str], tmp_path: Path) -> None:
    env = imported(loaded, tmp_path)
    code, out, err = invoke(env, "themes", "--survey", "support-csat")
    assert code == 0, err
    assert "no themes proposed: 4 comments are too few to cluster" in out
    code, out, _ = invoke(env, "themes", "--survey", "support-csat", "--json", "--no-propose")
    body = json.loads(out)
    assert body["comments"] == 4 and body["themes"] == [] and "proposed" not in body
