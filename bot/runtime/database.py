"""Opening the configured database: connect, then bring the schema up to date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime.settings import Settings
from storage.database import create_engine, session_factory
from storage.migrate import upgrade


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Connect and bring the schema up to date."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    return engine, session_factory(engine)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The database, brought up to date, for as long as the block runs (then let go)."""
    engine, sessions = await open_database(settings)
    try:
        yield sessions
    finally:
        await engine.dispose()
