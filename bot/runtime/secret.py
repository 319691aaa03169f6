"""The instance's secret: SURVEYBOT_SECRET_KEY, else the one generated once and kept in the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.settings import Settings
from storage.secrets import instance_secret


async def secret_of(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> str:
    """What signs links and keys the suppression list, the same in every process and command."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return await instance_secret(sessions, "link-signing")
