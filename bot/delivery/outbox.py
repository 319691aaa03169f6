"""The outbox worker: claims due questions and reminders under a lease, sends, records results.

A claim moves an invitation to `sending` with a lease. Sends go out in chunks: each chunk is
marked as started (`send_started_at`) just before the provider is called, and its results are
written in one transaction as soon as the provider answers, well inside the lease (sends time
out at half of it). A worker that dies leaves leases that run out: claims that never reached the
provider are claimed again, while started ones are closed as `interrupted` instead of being sent
a second time (see `InvitationRepository.settle_interrupted`). Per-channel rate limits are
budgets in the database, so every worker on it shares them.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.talk import Talk
from bot.invitations import decisions
from channels.base import (
    Channel,
    ChannelError,
    ChannelInfo,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    degrade_to_text,
)
from storage.models import InvitationStatus, Step
from storage.records import ContactRecord, InvitationRecord, InvitationView
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from surveys.quiet_hours import Window, next_allowed

log = logging.getLogger("bot.dispatcher")
Status = InvitationStatus


@dataclass(slots=True)
class Job:
    """One claimed send: a question, or a reminder of one."""

    invitation: InvitationRecord
    survey: Survey
    contact: ContactRecord
    opted_out: bool
    reminder: bool

    @property
    def id(self) -> str:
        return self.invitation.id

    @property
    def zone(self) -> ZoneInfo:
        return decisions.zone_of(self.contact.timezone, self.survey.timezone)


@dataclass(slots=True)
class Outcome:
    """What happened to one send."""

    job: Job
    result: SendResult | None = None
    text: str = ""
    error: str | None = None
    permanent: bool = False
    suppress: bool = False
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A channel's budget: `per_window` sends in each window of `seconds`."""

    seconds: int
    per_window: int

    @classmethod
    def per_second(cls, rate: float) -> RateLimit:
        # Rates below one per second get a longer window holding a whole send.
        seconds = 1 if rate >= 1 else math.ceil(1 / rate)
        return cls(seconds=seconds, per_window=max(1, math.floor(rate * seconds)))

    def window(self, now: datetime) -> int:
        epoch = int(now.timestamp())
        return epoch - epoch % self.seconds


class Dispatcher:
    """One channel-agnostic loop for every channel."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        catalog: Sequence[ChannelInfo],
        clock: Callable[[], datetime],
        prepare: Callable[[OutboundMessage, InvitationView], OutboundMessage],
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
        self._channels = channels
        self._infos = {info.name: info for info in catalog}
        self._clock = clock
        self._prepare = prepare
        self._ttl = invitation_ttl
        self._interval = interval_seconds
        self._batch_size = batch_size
        # Chunks of up to 50 keep the writes few (two transactions per chunk) while bounding
        # what a killed worker leaves `interrupted` to the sends it had in flight.
        self._chunk = max(1, min(concurrency, 50))
        self._pipelines = asyncio.Semaphore(max(1, concurrency // self._chunk))
        self._lease = timedelta(seconds=lease_seconds)
        self._send_timeout = lease_seconds / 2
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
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
        """Dispatch until stopped or cancelled; errors back off and the loop goes on."""
        failures = 0
        while not self._stopping:
            try:
                claimed = await self.dispatch_due()
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatch round failed (%d in a row)", failures)
                claimed = 0
                await asyncio.sleep(min(30.0, self._interval * 2**failures))
            if claimed < self._batch_size and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
                except TimeoutError:
                    pass

    async def dispatch_due(self) -> int:
        """Claim one batch of due questions and reminders and deliver them; returns the count."""
        now = self._clock()
        lease_until = now + self._lease
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.settle_interrupted(now)
            questions, reminders = await self._claim(uow, now, lease_until)
            await uow.commit()
        if not questions and not reminders:
            return 0
        await self._run(await self._load(questions, reminder=False))
        await self._run(await self._load(reminders, reminder=True))
        return len(questions) + len(reminders)

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
        return [
            Job(invitation, to_domain(survey_row), contact, opted_out, reminder)
            for invitation, survey_row, contact, opted_out in rows
        ]

    async def dispatch_one(self, invitation_id: str) -> bool:
        """Deliver one due invitation now (the web chat page was opened before the tick)."""
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            claimed = await uow.invitations.transition(
                invitation_id,
                [Status.SCHEDULED],
                status=Status.SENDING,
                lease_until=now + self._lease,
                attempts=1,
            )
            await uow.commit()
        if not claimed:
            return False
        await self._run(await self._load([invitation_id], reminder=False))
        return True

    async def _run(self, jobs: list[Job]) -> None:
        """Settle what needs no send, then send the rest in chunks."""
        ready: list[Job] = []
        settled: list[tuple[Job, str, dict[str, Any]]] = []
        now = self._clock()
        for job in jobs:
            verdict = self._precheck(job, now)
            if verdict is None:
                ready.append(job)
            else:
                settled.append((job, *verdict))
        if settled:
            await self._settle(settled, now)
        chunks = [ready[i : i + self._chunk] for i in range(0, len(ready), self._chunk)]
        await asyncio.gather(*(self._send_chunk(chunk) for chunk in chunks))

    def _precheck(self, job: Job, now: datetime) -> tuple[str, dict[str, Any]] | None:
        """Why this job must not be sent now (kind, values), or None to send it."""
        invitation = job.invitation
        if invitation.channel not in self._channels:
            return "fail", {"error": f"the {invitation.channel} channel is not configured"}
        if invitation.channel not in self._infos or not self._address(invitation, job.contact):
            return "fail", {"error": f"the contact has no address on {invitation.channel}"}
        if job.opted_out:  # checked again at send time: the contact may have opted out since
            return "cancel", {"reason": "opted_out"}
        allowed_at = next_allowed(now, self._window(job), job.zone)
        if allowed_at > now:  # a retry, a late claim or a reminder may fall in quiet hours
            return "defer", {"at": allowed_at}
        return None

    async def _settle(self, settled: list[tuple[Job, str, dict[str, Any]]], now: datetime) -> None:
        async with UnitOfWork(self._sessions) as uow:
            repo = uow.invitations
            for job, kind, detail in settled:
                invitation = job.invitation
                if job.reminder:
                    # A reminder that cannot go out now either waits (quiet hours) or is dropped.
                    await repo.transition(
                        invitation.id,
                        [Status.SENT],
                        remind_at=detail["at"] if kind == "defer" else None,
                        updated_at=now,
                    )
                elif kind == "fail":
                    await repo.transition(
                        invitation.id,
                        [Status.SENDING],
                        status=Status.FAILED,
                        lease_until=None,
                        last_error=detail["error"][:500],
                        updated_at=now,
                    )
                elif kind == "cancel":
                    await repo.transition(
                        invitation.id,
                        [Status.SENDING],
                        status=Status.CANCELLED,
                        skip_reason=detail["reason"],
                        lease_until=None,
                        updated_at=now,
                    )
                else:
                    await repo.transition(
                        invitation.id,
                        [Status.SENDING],
                        status=Status.SCHEDULED,
                        send_at=detail["at"],
                        lease_until=None,
                        attempts=max(0, invitation.attempts - 1),  # a deferral is not an attempt
                        updated_at=now,
                    )
            await uow.commit()
        for job, kind, detail in settled:
            log.info(
                "%s %s not sent now: %s %s",
                "reminder" if job.reminder else "invitation",
                job.id,
                kind,
                detail.get("error") or detail.get("reason") or detail.get("at"),
            )

    async def _send_chunk(self, chunk: list[Job]) -> None:
        async with self._pipelines:
            async with UnitOfWork(self._sessions) as uow:
                await uow.invitations.mark_started([job.id for job in chunk], self._clock())
                await uow.commit()
            outcomes = await asyncio.gather(*(self._send(job) for job in chunk))
            await self._record(outcomes)

    async def _send(self, job: Job) -> Outcome:
        invitation = job.invitation
        channel = self._channels[invitation.channel]
        talk = Talk.of(
            job.survey, job.contact, invitation, self._address(invitation, job.contact) or ""
        )
        message = self._prepare(talk.reminder() if job.reminder else talk.question(), invitation)
        try:
            async with asyncio.timeout(self._send_timeout):
                result = await channel.send(message)
        except PermanentSendError as exc:
            return Outcome(job, error=str(exc), permanent=True, suppress=exc.suppress)
        except (TransientSendError, TimeoutError, ChannelError) as exc:
            return Outcome(
                job,
                error=str(exc) or type(exc).__name__,
                retry_after=getattr(exc, "retry_after", None),
            )
        except Exception as exc:
            log.exception("channel %s raised while sending %s", channel.name, invitation.id)
            return Outcome(job, error=f"{type(exc).__name__}: {exc}")
        return Outcome(job, result=result, text=degrade_to_text(message, include_link=False))

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Write every result of a chunk in one transaction."""
        now = self._clock()
        sent: list[dict[str, Any]] = []
        reminded: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        async with UnitOfWork(self._sessions) as uow:
            for outcome in outcomes:
                job = outcome.job
                if outcome.result is not None:
                    row = self._sent_values(job, now, outcome.result.provider_message_id)
                    (reminded if job.reminder else sent).append(row)
                    messages.append(self._message_row(job, outcome, now))
                else:
                    await self._unsent(uow, outcome, now)
            await uow.invitations.update_many(sent, Status.SENDING)
            await uow.invitations.update_many(reminded, Status.SENT)
            await uow.messages.add_outbound_many(messages)
            await uow.commit()
        for outcome in outcomes:
            if outcome.result is not None:
                log.info(
                    "%s %s sent on %s",
                    "reminder for" if outcome.job.reminder else "invitation",
                    outcome.job.id,
                    outcome.job.invitation.channel,
                )

    def _sent_values(self, job: Job, now: datetime, provider_id: str) -> dict[str, Any]:
        invitation, survey = job.invitation, job.survey
        if job.reminder:
            count = invitation.reminders_sent + 1
            return {
                "id": invitation.id,
                "reminders_sent": count,
                "remind_at": self._reminder_at(job, invitation.sent_at or now, count + 1),
                "send_started_at": None,
                "updated_at": now,
            }
        ttl = (
            timedelta(hours=survey.expires_after_hours) if survey.expires_after_hours else self._ttl
        )
        values: dict[str, Any] = {
            "id": invitation.id,
            "status": Status.SENT,
            "step": Step.AWAITING_SCORE,
            "sent_at": now,
            "expires_at": now + ttl,
            "lease_until": None,
            "send_started_at": None,
            "provider_message_id": provider_id,
            "last_error": None,
            "updated_at": now,
        }
        values["remind_at"] = self._reminder_at(job, now, 1, expires_at=now + ttl)
        return values

    def _reminder_at(
        self, job: Job, sent_at: datetime, number: int, *, expires_at: datetime | None = None
    ) -> datetime | None:
        """When reminder `number` is due, or None (no more reminders, or the survey closes first)."""
        survey, invitation = job.survey, job.invitation
        # A link-only channel (the web chat) cannot reach anyone by itself: nothing to remind.
        info = self._infos.get(invitation.channel)
        if number > survey.reminders or info is None or not info.reaches_by_itself:
            return None
        due = next_allowed(
            sent_at + timedelta(hours=survey.reminder_delay(number)), self._window(job), job.zone
        )
        closes = expires_at or invitation.expires_at
        return due if closes is None or due < closes else None

    def _message_row(self, job: Job, outcome: Outcome, now: datetime) -> dict[str, Any]:
        assert outcome.result is not None
        return {
            "channel": job.invitation.channel,
            "direction": "out",
            "address": self._address(job.invitation, job.contact),
            "text": outcome.text,
            "invitation_id": job.id,
            "contact_id": job.contact.id,
            "provider_message_id": outcome.result.provider_message_id,
            "created_at": now,
        }

    async def _unsent(self, uow: UnitOfWork, outcome: Outcome, now: datetime) -> None:
        """Record a send the provider refused: retry later, or stop (and maybe suppress)."""
        job, error = outcome.job, (outcome.error or "")[:500]
        invitation, repo = job.invitation, uow.invitations
        if outcome.suppress and job.contact.id is not None:
            await uow.opt_outs.add(job.contact.id, invitation.channel, source="provider")
        if job.reminder:
            retry = (
                None
                if outcome.permanent
                else now + timedelta(seconds=self._backoff(1, outcome.retry_after))
            )
            await repo.transition(
                invitation.id,
                [Status.SENT],
                remind_at=retry,
                send_started_at=None,
                last_error=error,
                updated_at=now,
            )
            log.warning("reminder for %s not sent: %s", invitation.id, error)
            return
        if not outcome.permanent and invitation.attempts >= self._max_attempts:
            outcome.permanent = True
            error = f"gave up after {invitation.attempts} attempts: {error}"[:500]
        if outcome.permanent:
            await repo.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.FAILED,
                lease_until=None,
                send_started_at=None,
                last_error=error,
                updated_at=now,
            )
            log.warning("invitation %s failed permanently: %s", invitation.id, error)
            return
        delay = self._backoff(invitation.attempts, outcome.retry_after)
        await repo.transition(
            invitation.id,
            [Status.SENDING],
            status=Status.SCHEDULED,
            send_at=now + timedelta(seconds=delay),
            lease_until=None,
            send_started_at=None,
            last_error=error,
            updated_at=now,
        )
        log.warning("invitation %s: transient failure, retry in %.1fs", invitation.id, delay)

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self._retry_base * 2 ** max(0, attempts - 1)

    def _window(self, job: Job) -> Window | None:
        info = self._infos.get(job.invitation.channel)
        return job.survey.send_window(job.invitation.channel, info.quiet_hours if info else None)

    def _address(self, invitation: InvitationRecord, contact: ContactRecord) -> str | None:
        info = self._infos.get(invitation.channel)
        if info is None:
            return None
        # On a link-only channel the conversation itself is the address (its link carries the id).
        return invitation.id if info.address is None else info.address_of(contact)
