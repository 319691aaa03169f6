"""Secrets an instance generates once and keeps in its database (shared by all its processes)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import InstanceSecret
from storage.repositories._dialect import upsert_insert


async def instance_secret(sessions: async_sessionmaker[AsyncSession], name: str) -> str:
    """The stored secret called `name`, created on first use; concurrent callers get the same."""
    async with sessions() as session:
        stmt = upsert_insert(session, InstanceSecret).values(
            name=name, value=secrets.token_urlsafe(48)
        )
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        value = (
            await session.execute(select(InstanceSecret.value).where(InstanceSecret.name == name))
        ).scalar_one()
        await session.commit()
        return value
