"""`surveybot import responses`: all or nothing with each bad row named; re-imports add nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from bot.imports.responses import ImportRow, import_rows
from bot.runtime.database import open_database
from bot.runtime.survey_files import load_surveys
from storage.models import Response
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from tests.bot.cli.cli_env import invoke, report, write_csv
from tests.conftest import make_settings


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


def test_undated_rows_and_comments_import_once_and_count_in_the_plural(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        [
            "c1,5,,,email,Ana",  # no answered_at: dated at import time
            "c2,4,Quick,,email,Ben",
            "c2,4,Kind,,email,Ben",  # differs from the row above in its comment only
        ],
    )
    code, out, err = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 0, err
    assert out.strip() == "imported 3 responses into support-csat"
    code, out, _ = invoke(loaded, "import", "responses", str(path), "--survey", "support-csat")
    assert code == 0
    assert out.strip() == "imported 0 responses into support-csat; 3 were already there"
    assert report(loaded, "--survey", "support-csat")["responses"] == 3
    one = write_csv(tmp_path, ["c1,5,,,email,Ana", "c9,1,,,sms,"])
    code, out, _ = invoke(loaded, "import", "responses", str(one), "--survey", "support-csat")
    assert out.strip() == "imported 1 response into support-csat; 1 was already there"
    bad = write_csv(tmp_path, ["c1,9,,,email,Ana"])
    code, _, err = invoke(loaded, "import", "responses", str(bad), "--survey", "support-csat")
    assert code == 1 and "nothing imported: 1 bad row:" in err


async def test_rows_imported_by_an_older_version_are_recognised(database_url: str) -> None:
    # Before comments counted, a dated row's digest left the comment out.
    row = ImportRow(
        line=2,
        contact="c1",
        score=5,
        comment="Great",
        answered_at=datetime(2026, 10, 1, 10, tzinfo=UTC),
        channel="email",
    )
    old = hashlib.sha256(
        "\x1f".join(["support-csat", "c1", "5", row.answered_at.isoformat(), "email"]).encode()
    ).hexdigest()
    assert row.legacy_key("support-csat") == old != row.key("support-csat")
    engine, sessions = await open_database(make_settings(database_url))
    try:
        survey = Survey.model_validate({"key": "support-csat", "metric": "csat"})
        await load_surveys(sessions, [survey])
        async with UnitOfWork(sessions) as uow:
            stored = await uow.surveys.get_by_key("support-csat")
            assert stored is not None
            first = await import_rows(uow, stored.id or 0, "support-csat", [row])
            # as if stored by the older version: the same row under its old digest
            await uow.session.execute(update(Response).values(import_key=old))
            again = await import_rows(uow, stored.id or 0, "support-csat", [row])
            await uow.commit()
        assert (first.imported, again.imported, again.already_present) == (1, 0, 1)
    finally:
        await engine.dispose()
