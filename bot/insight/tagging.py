"""The tagging job: gives each new or changed comment its themes and its score/words flag.

One process per database tags at a time (the "tagger" lease). Each tick looks at the answers of
the last days and at rows added since the previous tick (cheap index ranges); a full sweep of a
survey's comments runs at start, every hour, and when its themes change (a new book version).
The text analysis runs in a thread, so a batch never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insight.themes import ThemeBook, disagrees, polarity
from bot.ticking import Ticker, hold
from storage.models import SurveyRow
from storage.repositories.answers import PendingComment
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey

log = logging.getLogger("bot.insight")

LEASE_NAME = "tagger"
BATCH = 500
FULL_SWEEP_EVERY = timedelta(hours=1)
# A comment arrives while its conversation is open: answers older than this are not looked at
# by the cheap sweep (the hourly full sweep still would).
RECENT = timedelta(days=10)
# Autoincrement ids can commit out of order across processes: look back a little.
ID_SLACK = 1000

Result = tuple[PendingComment, tuple[str, ...], int, bool]


def analyse(survey: Survey, book: ThemeBook, pending: Sequence[PendingComment]) -> list[Result]:
    """Themes, polarity and the disagreement flag of each comment (pure; runs in a thread)."""
    results: list[Result] = []
    for item in pending:
        themes = book.assign(item.comment, item.locale)
        words = polarity(item.comment, item.locale)
        results.append((item, themes, words, disagrees(survey.band(item.score), words)))
    return results


@dataclass
class Tagger:
    """Tags comments in the background while it holds the lease."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    holder: str
    interval: float = 5.0
    lease_seconds: float = 60.0
    _books: dict[int, tuple[Survey, ThemeBook]] = field(default_factory=dict)
    _swept: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    _id_seen: int | None = None

    def __post_init__(self) -> None:
        self._ticker = Ticker("tagging comments", self.interval, log)

    def wake(self) -> None:
        """Look for comments now rather than at the next tick."""
        self._ticker.wake()

    async def run(self) -> None:
        """Tick while holding the lease, until cancelled."""
        await self._ticker.run(self._leased_tick)

    async def _leased_tick(self) -> None:
        held = await hold(
            self.sessions, LEASE_NAME, self.holder, now=self.clock(), seconds=self.lease_seconds
        )
        if held:
            await self.tick()

    async def tick(self) -> int:
        """One pass over every survey: comments tagged."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.surveys.list()
            newest = await uow.themes.newest_id()
        tagged = 0
        for row in rows:
            survey, book = self._book(row.id or 0, row)
            version, swept_at = self._swept.get(row.id or 0, ("", now - FULL_SWEEP_EVERY * 2))
            full = version != book.version or now - swept_at >= FULL_SWEEP_EVERY
            tagged += await self.tag(
                row.id or 0,
                survey,
                book,
                answered_since=None if full else now - RECENT,
                id_above=None if full or self._id_seen is None else self._id_seen - ID_SLACK,
            )
            if full:
                self._swept[row.id or 0] = (book.version, now)
        self._id_seen = newest
        return tagged

    async def tag(
        self,
        survey_id: int,
        survey: Survey,
        book: ThemeBook,
        *,
        answered_since: datetime | None = None,
        id_above: int | None = None,
    ) -> int:
        """Tag the survey's pending comments in batches until none is left."""
        done = 0
        while True:
            async with UnitOfWork(self.sessions) as uow:
                pending = await uow.themes.pending(
                    survey_id,
                    book.version,
                    answered_since=answered_since,
                    id_above=id_above,
                    limit=BATCH,
                )
            if not pending:
                return done
            results = await asyncio.to_thread(analyse, survey, book, pending)
            async with UnitOfWork(self.sessions) as uow:
                await uow.themes.save(survey_id, book.version, results, self.clock())
                await uow.commit()
            done += len(results)
            log.info("tagged %d comments of survey %s", len(results), survey.key)
            if len(pending) < BATCH:
                return done

    def _book(self, survey_id: int, row: SurveyRow) -> tuple[Survey, ThemeBook]:
        survey = to_domain(row)
        cached = self._books.get(survey_id)
        if cached is not None and cached[0] == survey:
            return cached
        built = (survey, ThemeBook.from_survey(survey))
        self._books[survey_id] = built
        return built
