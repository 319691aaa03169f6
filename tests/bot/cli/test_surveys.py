"""`surveybot surveys load`: creates and updates surveys, refuses bad or missing files."""

from __future__ import annotations

from pathlib import Path

from tests.bot.cli.cli_env import invoke


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
