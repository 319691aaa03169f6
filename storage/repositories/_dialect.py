"""INSERT … ON CONFLICT for whichever dialect the session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports on_conflict_do_nothing/do_update on SQLite and PostgreSQL."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def custom_plans(session: AsyncSession) -> None:
    """On PostgreSQL, plan this transaction's statements for their own parameters.

    asyncpg prepares statements per connection; after five runs PostgreSQL may switch a report's
    statement to a generic plan that guesses a period holds a fraction of a percent of the rows,
    and picks nested loops over a million index probes (1 s becomes 3-7 s). Reports are few and
    large, so planning each run is cheap in comparison. Once per transaction.
    """
    if session.bind.dialect.name != "postgresql" or session.info.get("custom_plans"):
        return
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    session.info["custom_plans"] = True
