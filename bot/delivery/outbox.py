"""The outbox sender: claims due questions and reminders under a lease and sends them.

A claim moves an invitation to `sending` with a lease; bot.delivery.sending sends the claimed
jobs in chunks and records the results well inside the lease. A worker that dies leaves leases
that run out: claims that never reached the provider are claimed again, while started ones are
closed as `interrupted` instead of being sent a second time (see
`InvitationRepository.settle_interrupted`). Per-channel rate limits are budgets in the
database, so every worker on it shares them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.failing import failed_send
from bot.delivery.jobs import Job, channel_of
from bot.delivery.rate_limits import RateLimit
from bot.delivery.sending import ChunkSender, Prepare, SendPolicy
from bot.invitations import fallback as fb
from bot.invitations import lifecycle, recorder
from bot.invitations.fallback import Failure, Fallback
from bot.invitations.lifecycle import Move
from bot.invitations.suppression import Suppressions
from channels.base import Channel, ChannelInfo
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.quiet_hours import next_allowed

log = logging.getLogger("bot.delivery")

Clock = Callable[[], datetime]


class OutboxSender:
    """One channel-agnostic loop that sends every channel's due questions and reminders."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        channels: Mapping[str, Channel],
        catalog: Sequence[ChannelInfo],
        clock: Clock,
        prepare: Prepare,
        suppression: Suppressions,
        invitation_ttl: timedelta,
        interval_seconds: float = 0.5,
        batch_size: int = 100,
        concurrency: int = 20,
        lease_seconds: int = 60,
        max_attempts: int = 6,
        retry_base_seconds: float = 2.0,
        rate_limits: Mapping[str, float] | None = None,
    ) -> None:
        self._sessions = sessions
        self._read_sessions = read_sessions or sessions
        self._channels = channels
        self._infos = {info.name: info for info in catalog}
        self._clock = clock
        self._suppression = suppression
        self._fallback = Fallback(catalog, suppression)
        self._interval = interval_seconds
        self._batch_size = batch_size
        # Chunks of up to 50 keep the writes few (two transactions per chunk) while bounding
        # what a killed worker leaves `interrupted` to the sends it had in flight.
        self._chunk = max(1, min(concurrency, 50))
        self._pipelines = asyncio.Semaphore(max(1, concurrency // self._chunk))
        self._lease = timedelta(seconds=lease_seconds)
        self._sender = ChunkSender(
            sessions=sessions,
            channels=channels,
            clock=clock,
            prepare=prepare,
            fallback=self._fallback,
            policy=SendPolicy(
                invitation_ttl=invitation_ttl,
                send_timeout=lease_seconds / 2,
                max_attempts=max_attempts,
                retry_base_seconds=retry_base_seconds,
            ),
        )
        self._limits = {
            name: RateLimit.per_second(rate)
            for name, rate in (rate_limits or {}).items()
            if rate and rate > 0
        }
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Look for due work now instead of at the next tick (a trigger just made some)."""
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more; the round in progress finishes (and records its sends)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Send until stopped or cancelled; errors back off and the loop goes on."""
        failures = 0
        while not self._stopping:
            try:
                claimed = await self.send_due()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox round failed (%d in a row)", failures)
                claimed = 0
                await asyncio.sleep(min(30.0, self._interval * 2**failures))
            if claimed < self._batch_size and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
                except TimeoutError:
                    pass

    async def send_due(self) -> int:
        """Claim one batch of due questions and reminders and send them; returns the count."""
        now = self._clock()
        lease_until = now + self._lease
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.settle_interrupted(now, lifecycle.interrupted(now).values)
            questions, reminders = await self._claim(uow, now, lease_until)
            await uow.commit()
        if not questions and not reminders:
            return 0
        await self._run(await self._load(questions, reminder=False))
        await self._run(await self._load(reminders, reminder=True))
        return len(questions) + len(reminders)

    async def send_now(self, invitation_id: str) -> bool:
        """Send one due invitation now (the web chat page was opened before the tick)."""
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            claimed = await recorder.record(
                uow, invitation_id, lifecycle.claimed(now, now + self._lease), at=now
            )
            await uow.commit()
        if not claimed:
            return False
        await self._run(await self._load([invitation_id], reminder=False))
        return True

    async def wait_until_sent(self, invitation_id: str, *, send_if_due: bool = False) -> None:
        """Return once the invitation's send is recorded (or it is not being sent at all).

        With `send_if_due`, a due invitation is sent right away instead of at the next tick (a
        link-only channel's page was opened first); one being sent (by this or another worker)
        is waited for, at most about two seconds, then the caller goes on with what it has.
        """
        for _ in range(40):
            async with UnitOfWork(self._read_sessions) as uow:
                invitation = await uow.invitations.get(invitation_id)
            if invitation is None:
                return
            due = invitation.send_at <= self._clock()
            if send_if_due and due and invitation.status == lifecycle.Status.SCHEDULED:
                await self.send_now(invitation_id)
            elif invitation.status == lifecycle.Status.SENDING:
                await asyncio.sleep(0.05)  # its send is being recorded this very moment
            else:
                return

    async def _claim(
        self, uow: UnitOfWork, now: datetime, lease_until: datetime
    ) -> tuple[list[str], list[str]]:
        limited = [name for name in self._limits if name in self._channels]
        repo = uow.invitations
        questions = await repo.claim_due(now, lease_until, self._batch_size, exclude=limited)
        reminders = await repo.claim_reminders(
            now, lease_until, self._batch_size - len(questions), exclude=limited
        )
        for name in limited:
            limit = self._limits[name]
            window = limit.window(now)
            budget = min(
                self._batch_size, await uow.rates.available(name, window, limit.per_window)
            )
            taken = await repo.claim_due(now, lease_until, budget, only=name)
            taken_reminders = await repo.claim_reminders(
                now, lease_until, budget - len(taken), only=name
            )
            if taken or taken_reminders:
                await uow.rates.use(name, window, len(taken) + len(taken_reminders))
            questions += taken
            reminders += taken_reminders
        return questions, reminders

    async def _load(self, ids: list[str], *, reminder: bool) -> list[Job]:
        if not ids:
            return []
        async with UnitOfWork(self._sessions) as uow:
            rows = await uow.invitations.for_dispatch(ids)
            # An address erased with its contact after opting out is an opt-out here too.
            used = {channel_of(invitation, reminder=reminder) for invitation, *_ in rows}
            suppressed = await self._suppression.of_contacts(
                uow,
                [contact for _, _, contact, _ in rows],
                [info for name, info in self._infos.items() if name in used],
            )
            # Where free text needs a recent message from the person (WhatsApp's 24 hours).
            windowed = [n for n in used if n in self._infos and self._infos[n].session_hours]
            last_inbound = (
                await uow.messages.last_inbound([c.id for _, _, c, _ in rows], windowed)
                if windowed
                else {}
            )
            # Only invitations with a fallback order need to know which channels failed them.
            ordered = [invitation.id for invitation, *_ in rows if invitation.channels]
            failed = await uow.failures.channels_of(ordered)
        jobs = []
        for invitation, survey_row, contact, opted_out in rows:
            channel = channel_of(invitation, reminder=reminder)
            jobs.append(
                Job(
                    invitation,
                    to_domain(survey_row),
                    contact,
                    opted_out or (contact.id, channel) in suppressed,
                    reminder,
                    self._infos.get(channel),
                    frozenset(failed.get(invitation.id, ())),
                    last_inbound.get((contact.id, channel)),
                )
            )
        return jobs

    async def _run(self, jobs: list[Job]) -> None:
        """Settle what needs no send, then send the rest in chunks."""
        ready: list[Job] = []
        settled: list[tuple[Job, Move | Failure, str]] = []
        now = self._clock()
        for job in jobs:
            verdict = self._precheck(job, now)
            if verdict is None:
                ready.append(job)
            elif isinstance(verdict, Failure):
                settled.append((job, verdict, verdict.error))
            else:
                settled.append((job, *verdict))
        if settled:
            await self._settle(settled)
        chunks = [ready[i : i + self._chunk] for i in range(0, len(ready), self._chunk)]
        await asyncio.gather(*(self._send_chunk(chunk) for chunk in chunks))

    async def _send_chunk(self, chunk: list[Job]) -> None:
        async with self._pipelines:
            await self._sender.send(chunk)

    def _precheck(self, job: Job, now: datetime) -> tuple[Move, str] | Failure | None:
        """What settles a job that must not be sent now: a move (and why), or a failure of its
        channel (the next channel of its order, or the end); None to send it."""
        channel = job.channel
        if channel not in self._channels:
            return Failure(channel, fb.NOT_ON, f"the {channel} channel is not configured")
        if not job.address:
            return Failure(channel, fb.NO_ADDRESS, f"the contact has no address on {channel}")
        if job.opted_out:  # checked again at send time: the contact may have opted out since
            return Failure(channel, fb.OPTED_OUT, "opted_out")
        allowed_at = next_allowed(now, job.window, job.zone)
        if allowed_at > now:  # a retry, a late claim or a reminder may fall in quiet hours
            if job.reminder:
                return lifecycle.reminder_moved(now, at=allowed_at), f"until {allowed_at}"
            # A deferral is not an attempt: give it back.
            attempts = max(0, job.invitation.attempts - 1)
            move = lifecycle.retry(now, at=allowed_at, attempts=attempts)
            return move, f"until {allowed_at}"
        return None

    async def _settle(self, settled: list[tuple[Job, Move | Failure, str]]) -> None:
        now = self._clock()
        moves: list[tuple[Job, Move, str]] = []
        async with UnitOfWork(self._sessions) as uow:
            for job, verdict, why in settled:
                if isinstance(verdict, Failure):
                    move = await failed_send(uow, self._fallback, job, verdict, now)
                else:
                    move = verdict
                await recorder.record(uow, job.id, move, at=now)
                moves.append((job, move, why))
            await uow.commit()
        for job, move, why in moves:
            log.info(
                "%s %s not sent now: %s (%s)",
                "reminder" if job.reminder else "invitation",
                job.id,
                move.name,
                why,
            )
