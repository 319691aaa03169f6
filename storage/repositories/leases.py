"""Named leases in the database: who holds a role (the scheduler) until when, taken atomically."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease
from storage.repositories._dialect import upsert_insert


class LeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take the lease, renew it if ours, or take it over once expired; one statement.

        INSERT … ON CONFLICT DO UPDATE … WHERE: the row is written only when absent, ours, or
        past its `until`, and RETURNING says whether it was. Two contenders never both win: the
        row lock (PostgreSQL) or the database write lock (SQLite) orders them.
        """
        stmt = upsert_insert(self.session, Lease).values(name=name, holder=holder, until=until)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "until": stmt.excluded.until},
            where=or_(Lease.holder == holder, Lease.until < now),
        ).returning(Lease.name)
        return (await self.session.execute(stmt)).first() is not None

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up if still ours, so another process need not wait for it to expire."""
        result = await self.session.execute(
            delete(Lease).where(Lease.name == name, Lease.holder == holder)
        )
        return bool(result.rowcount)

    async def get(self, name: str) -> Lease | None:
        result = await self.session.execute(
            select(Lease).where(Lease.name == name).execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()
