"""Per-channel send budgets in fixed time windows, shared by every worker on the database."""

from __future__ import annotations

import zlib

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateWindow
from storage.repositories._dialect import upsert_insert


class RateRepository:
    """Take sends from a channel's budget; callers hold the transaction until they commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def available(self, channel: str, window: int, per_window: int) -> int:
        """What is left of this window's budget; serialises takers of one channel until commit."""
        if self.session.bind.dialect.name == "postgresql":
            # A transaction-scoped lock: two workers never both read the same unused budget.
            key = zlib.crc32(f"surveybot-rate:{channel}".encode())
            await self.session.execute(select(func.pg_advisory_xact_lock(key)))
        used = (
            await self.session.execute(
                select(RateWindow.used).where(
                    RateWindow.channel == channel, RateWindow.window == window
                )
            )
        ).scalar_one_or_none()
        return max(0, per_window - (used or 0))

    async def use(self, channel: str, window: int, count: int) -> None:
        stmt = upsert_insert(self.session, RateWindow).values(
            channel=channel, window=window, used=count
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "window"],
            set_={"used": RateWindow.used + stmt.excluded.used},
        )
        await self.session.execute(stmt)
        # Old windows are history nobody reads: keep the table to a handful of rows.
        await self.session.execute(
            delete(RateWindow).where(RateWindow.channel == channel, RateWindow.window < window - 60)
        )
