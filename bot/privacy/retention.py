"""Retention: transcript messages and response comments older than N days are purged; scores stay.

With SURVEYBOT_RETENTION_DAYS set, one process per database at a time (the "retention" lease)
purges at start and then every hour; `surveybot retention run` purges once. Purges go in
batches, one short transaction each, so answers keep flowing while a large backlog goes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ticking import Ticker, hold
from storage.uow import UnitOfWork

log = logging.getLogger("bot.privacy")

LEASE_NAME = "retention"
BATCH = 1000
EVERY = timedelta(hours=1)

Progress = Callable[[int], None]  # rows purged since the last call
StillOurs = Callable[[], Awaitable[bool]]  # asked before each batch: stop when False


@dataclass(frozen=True, slots=True)
class Purged:
    """What one purge removed."""

    messages: int = 0
    comments: int = 0
    comment_analyses: int = 0
    response_themes: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.messages or self.comments)


def cutoff(now: datetime, days: int) -> datetime:
    """What is older than `days` days at `now` is purged."""
    return now - timedelta(days=days)


async def count_purgeable(
    sessions: async_sessionmaker[AsyncSession], before: datetime
) -> tuple[int, int]:
    """(transcript messages, comments) a purge of what is older than `before` would remove."""
    async with UnitOfWork(sessions) as uow:
        return await uow.privacy.count_older(before)


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    before: datetime,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
    still_ours: StillOurs | None = None,
) -> Purged:
    """Purge the messages and comments older than `before`, a batch per transaction."""
    messages = comments = analyses = themes = 0
    while still_ours is None or await still_ours():
        async with UnitOfWork(sessions) as uow:
            done = await uow.privacy.purge_messages(before, batch)
            await uow.commit()
        messages += done
        if progress is not None:
            progress(done)
        if done < batch:
            break
    while still_ours is None or await still_ours():
        async with UnitOfWork(sessions) as uow:
            done, gone_analyses, gone_themes = await uow.privacy.purge_comments(before, batch)
            await uow.commit()
        comments, analyses, themes = comments + done, analyses + gone_analyses, themes + gone_themes
        if progress is not None:
            progress(done)
        if done < batch:
            break
    return Purged(messages, comments, analyses, themes)


@dataclass
class RetentionJob:
    """Purges by age in the background while it holds the lease: at start, then every hour."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    holder: str
    days: int
    every: timedelta = EVERY
    poll_seconds: float = 60.0
    lease_seconds: float = 300.0
    batch: int = BATCH
    _last: datetime | None = field(default=None, init=False)

    async def run(self) -> None:
        """Purge until cancelled; a failing purge is logged and tried again at the next poll."""
        await Ticker("retention purge", self.poll_seconds, log).run(self._poll)

    async def _poll(self) -> None:
        # Renewed at every poll, so the holder keeps it between its hourly purges.
        if await self._lease() and self._due():
            await self.tick()

    def _due(self) -> bool:
        return self._last is None or self.clock() - self._last >= self.every

    async def _lease(self) -> bool:
        return await hold(
            self.sessions, LEASE_NAME, self.holder, now=self.clock(), seconds=self.lease_seconds
        )

    async def tick(self) -> Purged:
        """One purge of what is older than the retention period now."""
        now = self.clock()
        before = cutoff(now, self.days)
        # Renewed before each batch: a long purge keeps the lease, a lost one stops it.
        purged = await purge(self.sessions, before, batch=self.batch, still_ours=self._lease)
        self._last = now
        if purged.anything:
            log.info(
                "retention: purged %d messages and %d comments (%d analyses, %d theme tags)"
                " older than %d days",
                purged.messages,
                purged.comments,
                purged.comment_analyses,
                purged.response_themes,
                self.days,
            )
        return purged
