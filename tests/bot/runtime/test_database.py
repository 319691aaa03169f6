"""Opening the database: one that cannot be reached is a sentence naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.database import DatabaseUnavailable, open_database
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://postgres:hunter2@127.0.0.1:1/test", "Connect call failed"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db_h4", "does not exist"),
        ("sqlite:///{tmp}/no-such-folder/x.db", "no-such-folder does not exist"),
    ],
)
async def test_an_unreachable_database_names_the_setting(
    tmp_path: Path, url: str, reason: str
) -> None:
    with pytest.raises(DatabaseUnavailable) as raised:
        await open_database(make_settings(url.format(tmp=tmp_path)))
    message = str(raised.value)
    assert "check SURVEYBOT_DATABASE_URL" in message and reason in message
    assert "hunter2" not in message  # the password is masked


async def test_a_reachable_database_opens(tmp_path: Path) -> None:
    engine, _ = await open_database(make_settings(f"sqlite:///{tmp_path / 'ok.db'}"))
    await engine.dispose()
