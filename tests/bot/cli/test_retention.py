"""`surveybot retention run` as a user runs it, on both databases: --days or the setting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.bot.cli.cli_env import invoke
from tests.bot.privacy.privacy_env import NEW_COMMENT, seed_ages, state
from tests.conftest import FakeClock, services_with


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(invoke, env, *args)


async def test_retention_run_purges_what_is_older_than_the_period(database_url: str) -> None:
    # The command reads the real clock: the answers are made 40 days ago and today.
    clock = FakeClock(datetime.now(UTC) - timedelta(days=40, minutes=5))
    services = await services_with(database_url, clock)
    try:
        await seed_ages(services, clock)
        before = await state(services)
        env = {"SURVEYBOT_DATABASE_URL": database_url}

        code, out, err = await cli(env, "retention", "run")
        assert code == 1 and "give --days N or set SURVEYBOT_RETENTION_DAYS" in err
        for bad in ("0", "thirty", "-5", "36501"):
            code, out, err = await cli(env, "retention", "run", "--days", bad)
            assert code == 1 and "--days must be a whole number of days" in err, (bad, err)
        assert await state(services) == before  # nothing purged by a refused run

        setting = {**env, "SURVEYBOT_RETENTION_DAYS": "30"}
        code, out, err = await cli(setting, "retention", "run", "--days", "60")
        assert code == 0, err
        assert "purged 0 transcript messages and 0 comments older than 60 days" in out
        code, out, err = await cli(setting, "retention", "run")
        assert code == 0, err
        assert "purged 15 transcript messages and 3 comments older than 30 days" in out
        after = await state(services)
        assert after["comments"] == [NEW_COMMENT] and after["responses"] == 4
        assert after["messages"] == before["messages"] - 15 and after["analyses"] == 1
    finally:
        await services.close()
