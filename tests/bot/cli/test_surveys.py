"""`surveybot surveys load`: creates and updates surveys, refuses bad or missing files."""

from __future__ import annotations

from pathlib import Path

from tests.bot.cli.cli_env import invoke, report, write_csv


def test_surveys_load_updates_and_refuses_bad_files(loaded: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "surveys.yaml"
    code, out, _ = invoke(loaded, "surveys", "load", str(path))
    assert code == 0 and "updated survey support-csat" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("surveys:\n  - key: x\n    metric: stars\n", encoding="utf-8")
    code, _, err = invoke(loaded, "surveys", "load", str(bad))
    assert code == 1 and "bad.yaml: survey 'x': metric: should be 'csat', 'nps' or 'ces'" in err
    code, _, err = invoke(loaded, "surveys", "load", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in err


def test_archive_and_unarchive(loaded: dict[str, str]) -> None:
    code, out, err = invoke(loaded, "surveys", "archive", "support-csat")
    assert code == 0, err
    assert " ".join(out.split()) == (
        "archived survey support-csat: it takes no new triggers and its campaigns skip their"
        " runs; its invitations and responses stay (undo: surveybot surveys unarchive"
        " support-csat)"
    )
    code, out, _ = invoke(loaded, "surveys", "archive", "support-csat")
    assert code == 0 and "survey support-csat was already archived on" in out
    # Its report still works.
    code, _, err = invoke(loaded, "report", "--survey", "support-csat", "--json")
    assert code == 0, err

    code, out, _ = invoke(loaded, "surveys", "unarchive", "support-csat")
    assert code == 0 and "survey support-csat takes triggers again" in out
    code, out, _ = invoke(loaded, "surveys", "unarchive", "support-csat")
    assert code == 0 and "survey support-csat is not archived" in out
    for command in ("archive", "unarchive"):
        code, out, err = invoke(loaded, "surveys", command, "[bold]nope")
        assert code == 1 and out == "" and "survey '[bold]nope' does not exist" in err


def test_surveys_load_refuses_unknown_channels_and_a_scale_with_answers(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "changed.yaml"
    path.write_text(
        "surveys:\n  - {key: support-csat, metric: csat, quiet_hours: {fax: null}}\n",
        encoding="utf-8",
    )
    code, _, err = invoke(loaded, "surveys", "load", str(path))
    assert code == 1 and "changed.yaml: survey 'support-csat': quiet_hours: 'fax'" in err
    answers = write_csv(tmp_path, ["c1,5,,2026-10-01T10:00:00Z,email,Ana"])
    code, _, err = invoke(loaded, "import", "responses", str(answers), "--survey", "support-csat")
    assert code == 0, err
    path.write_text("surveys:\n  - {key: support-csat, metric: csat, scale: [1, 3]}\n")
    code, out, err = invoke(loaded, "surveys", "load", str(path))
    assert code == 1 and out == ""
    assert " ".join(err.split()).startswith(
        "error: " + f"{path}: survey 'support-csat': 1 answer was given on the scale 1-5,"
        " so the scale cannot change to 1-3"
    )
    assert "start a new survey under a new key" in " ".join(err.split())
    assert report(loaded, "--survey", "support-csat")["responses"] == 1
