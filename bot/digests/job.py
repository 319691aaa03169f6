"""The digest job: mails each digest once per period, and `send_now` for one on request.

One process per database sends at a time (the "digests" lease), checking every minute. A period
is claimed in the database (a unique row per digest and period) before its mail goes out and
marked sent after, so a restart or a second process never sends it twice; a claim whose process
died mid-send is given back after 15 minutes, and a send that failed is tried again 5 minutes
later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digests.content import gather
from bot.digests.management import get
from bot.digests.render import digest_mail
from bot.digests.schedule import Period, latest_due, parse_at
from bot.events.mail import Mail, Mailer, MailError
from bot.ticking import Ticker, hold
from storage.alerting import Digest
from storage.models import SurveyRow
from storage.repositories.alerting import DigestRepository
from storage.uow import UnitOfWork

log = logging.getLogger("bot.digests")

LEASE_NAME = "digests"
CHECK_EVERY = 60.0  # seconds
STALE_CLAIM = timedelta(minutes=15)
RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Sent:
    """What one digest send did: its period, and how many addresses took it."""

    digest_id: int
    period: Period
    delivered: int
    failed: int


def footer(digest: Digest, survey_key: str, sender_name: str) -> str:
    return (
        f"{sender_name} · {digest.every} digest {digest.id} of {survey_key}, sent at"
        f" {digest.send_at} {digest.timezone}. To stop it: surveybot digests remove {digest.id}."
    )


async def compose(
    sessions: async_sessionmaker[AsyncSession],
    digest: Digest,
    row: SurveyRow,
    period: Period,
    *,
    base_url: str,
    sender_name: str,
) -> list[Mail]:
    """The digest's mail for one period, one per address."""
    async with UnitOfWork(sessions) as uow:
        content = await gather(uow, row, period, timezone=digest.timezone, base_url=base_url)
    bottom = footer(digest, row.key, sender_name)
    return [digest_mail(to, content, footer=bottom) for to in digest.recipients]


async def deliver(mailer: Mailer, mails: list[Mail], digest_id: int) -> tuple[int, list[MailError]]:
    delivered, errors = 0, []
    for mail in mails:
        try:
            await mailer.send(mail)
        except MailError as exc:
            errors.append(exc)
            log.warning("digest %s: not sent to one address: %s", digest_id, exc.message)
        else:
            delivered += 1
    return delivered, errors


def due_period(digest: Digest, now: datetime) -> tuple[Period, datetime]:
    """The latest period due and its send time."""
    zone = ZoneInfo(digest.timezone)
    at = parse_at(digest.send_at)
    assert at is not None  # checked when added
    period = latest_due(digest.every, at, zone, now)
    return period, datetime.combine(period.end, at, tzinfo=zone)


async def send_now(
    sessions: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    digest_id: int,
    now: datetime,
    *,
    base_url: str,
    sender_name: str = "surveybot",
) -> Sent:
    """Mail the digest of its latest complete period now (on request; the schedule is left
    as it is); NotFound for an unknown digest."""
    async with UnitOfWork(sessions) as uow:
        digest, row = await get(uow, digest_id)
    period, _ = due_period(digest, now)
    mails = await compose(sessions, digest, row, period, base_url=base_url, sender_name=sender_name)
    delivered, errors = await deliver(mailer, mails, digest_id)
    return Sent(digest_id, period, delivered, len(errors))


@dataclass
class DigestJob:
    """Sends due digests in the background while it holds the lease."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    holder: str
    mailer: Mailer
    base_url: str
    sender_name: str = "surveybot"
    interval: float = CHECK_EVERY
    _retry_at: dict[int, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ticker = Ticker("sending digests", self.interval, log)

    async def run(self) -> None:
        await self._ticker.run(self._leased_tick)

    async def _leased_tick(self) -> None:
        seconds = 2 * self.interval + 60
        if await hold(self.sessions, LEASE_NAME, self.holder, now=self.clock(), seconds=seconds):
            await self.tick()

    async def tick(self) -> list[Sent]:
        """Send every digest whose period is due and not sent yet."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            repository = DigestRepository(uow.session)
            await repository.release_stale(now - STALE_CLAIM)
            digests = await repository.all()
            await uow.commit()
        done = []
        for digest, row in digests:
            sent = await self._one(digest, row, now)
            if sent is not None:
                done.append(sent)
        return done

    async def _one(self, digest: Digest, row: SurveyRow, now: datetime) -> Sent | None:
        digest_id = digest.id or 0
        period, send_time = due_period(digest, now)
        # A new digest starts with the first period due after it was added.
        if send_time < digest.created_at or self._retry_at.get(digest_id, now) > now:
            return None
        async with UnitOfWork(self.sessions) as uow:
            claimed = await DigestRepository(uow.session).claim(digest_id, period.key, now)
            await uow.commit()
        if not claimed:
            return None
        try:
            mails = await compose(
                self.sessions,
                digest,
                row,
                period,
                base_url=self.base_url,
                sender_name=self.sender_name,
            )
            delivered, errors = await deliver(self.mailer, mails, digest_id)
        except Exception:
            # A cancelled send keeps its claim: it is given back once stale.
            await self._release(digest_id, period.key)
            raise
        if not delivered and any(not e.permanent for e in errors):
            await self._release(digest_id, period.key)
            self._retry_at[digest_id] = now + RETRY_AFTER
            return None
        async with UnitOfWork(self.sessions) as uow:
            await DigestRepository(uow.session).sent(digest_id, period.key, self.clock())
            await uow.commit()
        self._retry_at.pop(digest_id, None)
        log.info("digest %s of %s for %s sent to %d", digest_id, row.key, period.key, delivered)
        return Sent(digest_id, period, delivered, len(errors))

    async def _release(self, digest_id: int, period_key: str) -> None:
        async with UnitOfWork(self.sessions) as uow:
            await DigestRepository(uow.session).release(digest_id, period_key)
            await uow.commit()
