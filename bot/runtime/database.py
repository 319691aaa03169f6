"""Opening the configured database: connect, then bring the schema up to date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime.settings import Settings
from storage.database import create_engine, session_factory
from storage.migrate import upgrade


class DatabaseUnavailable(Exception):
    """Raised when the configured database cannot be reached or opened (names the setting)."""


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Connect and bring the schema up to date; DatabaseUnavailable if it cannot be reached."""
    engine = create_engine(settings.database_url)
    try:
        await _reach(engine, settings.database_url)
        await upgrade(engine)
    except Exception:
        await engine.dispose()
        raise
    return engine, session_factory(engine)


async def _reach(engine: AsyncEngine, url: str) -> None:
    """One round trip, so that an unreachable server or a missing database reads as such."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # Checked first: aiosqlite's thread outlives a failed connect and errors after exit.
        folder = Path(parsed.database or "").parent
        if not folder.is_dir():
            raise DatabaseUnavailable(_unavailable(url, f"the folder {folder} does not exist"))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    # The drivers raise OSError (refused, unknown host) or their own error, which SQLAlchemy
    # wraps (no such database, wrong password, a directory SQLite cannot create a file in).
    except (OSError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(_unavailable(url, reason)) from exc


def _unavailable(url: str, reason: str) -> str:
    parsed = make_url(url)
    ask = (
        "an SQLite file in a folder that exists"
        if parsed.get_backend_name() == "sqlite"
        else "a PostgreSQL server that is up and a database on it that exists"
    )
    return (
        f"cannot open the database {parsed.render_as_string(hide_password=True)} ({reason}):"
        f" check SURVEYBOT_DATABASE_URL; it must name {ask}"
    )


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The database, brought up to date, for as long as the block runs (then let go)."""
    engine, sessions = await open_database(settings)
    try:
        yield sessions
    finally:
        await engine.dispose()
