"""What the background jobs share: a loop that ticks on an interval or when woken, and a lease.

Every job (tagging comments, routing and delivering events, health checks, digests, retention)
runs in every serve and worker process; those that must run in one process per database at a
time hold a named lease in the database, renewed at each tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.uow import UnitOfWork


class Ticker:
    """Calls a tick every `interval` seconds, or sooner when woken; a failing tick is logged
    (as `what` failed) and the next one tries again."""

    def __init__(self, what: str, interval: float, log: logging.Logger) -> None:
        self.what = what
        self.interval = interval
        self._log = log
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, tick: Callable[[], Awaitable[Any]]) -> None:
        """Tick until cancelled."""
        while True:
            try:
                await tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("%s failed; trying again", self.what)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass


async def hold(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    holder: str,
    *,
    now: datetime,
    seconds: float,
) -> bool:
    """Take or renew the lease `name` for `seconds`; whether this holder has it now."""
    async with UnitOfWork(sessions) as uow:
        held = await uow.leases.acquire(name, holder, now + timedelta(seconds=seconds), now)
        await uow.commit()
    return held
