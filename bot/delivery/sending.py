"""Sending one chunk of claimed jobs: mark it started, call the providers, record every result.

Each chunk is marked as started (`send_started_at`) just before the provider is called, and its
results are written in one transaction as soon as the providers answer, well inside the lease
(sends time out at half of it). Every result is a move of bot.invitations.lifecycle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.talk import Talk
from bot.delivery.failing import failed_send
from bot.delivery.jobs import Job, Outcome
from bot.invitations import fallback as fb
from bot.invitations import lifecycle, recorder
from bot.invitations.fallback import Failure, Fallback
from bot.invitations.lifecycle import Move
from channels.base import (
    Channel,
    ChannelError,
    ChannelInfo,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
    degrade_to_text,
)
from storage.records import InvitationView
from storage.uow import UnitOfWork
from surveys.quiet_hours import next_allowed

log = logging.getLogger("bot.delivery")


class Prepare(Protocol):
    """Finishes a rendered question for its channel; `in_session` False (the person has not
    written within the channel's session_hours) asks for what goes outside a session (a
    template), and raises PermanentSendError when nothing can."""

    def __call__(
        self, message: OutboundMessage, invitation: InvitationView, *, talk: Talk, in_session: bool
    ) -> OutboundMessage: ...


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How sends are timed out and retried, and how long a sent question takes answers."""

    invitation_ttl: timedelta
    send_timeout: float
    max_attempts: int
    retry_base_seconds: float

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return self.retry_base_seconds * 2 ** max(0, attempts - 1)


class ChunkSender:
    """Sends chunks of jobs through the channels and records what happened."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        prepare: Prepare,
        policy: SendPolicy,
        fallback: Fallback,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._clock = clock
        self._prepare = prepare
        self._policy = policy
        self._fallback = fallback
        self._infos = {info.name: info for info in fallback.channels}

    async def send(self, chunk: list[Job]) -> None:
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.mark_started([job.id for job in chunk], self._clock())
            await uow.commit()
        outcomes = await asyncio.gather(*(self._send(job) for job in chunk))
        await self._record(outcomes)

    async def _send(self, job: Job) -> Outcome:
        invitation = job.invitation
        channel = self._channels[job.channel]
        max_text = job.info.max_text if job.info else None
        talk = Talk.of(
            job.survey,
            job.contact,
            invitation,
            job.address or "",
            max_text=max_text,
            channel=job.channel,
        )
        message = talk.reminder() if job.reminder else talk.question()
        try:
            message = self._prepare(
                message, invitation, talk=talk, in_session=job.in_session(self._clock())
            )
            async with asyncio.timeout(self._policy.send_timeout):
                result = await channel.send(message)
        except PermanentSendError as exc:
            return Outcome(
                job, error=str(exc), code=exc.code, permanent=True, suppress=exc.suppress
            )
        except (TransientSendError, TimeoutError, ChannelError) as exc:
            return Outcome(
                job,
                error=str(exc) or type(exc).__name__,
                code=getattr(exc, "code", None),
                retry_after=getattr(exc, "retry_after", None),
            )
        except Exception as exc:
            log.exception("channel %s raised while sending %s", channel.name, invitation.id)
            return Outcome(job, error=f"{type(exc).__name__}: {exc}")
        return Outcome(job, result=result, text=degrade_to_text(message, include_link=False))

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Write every result of a chunk in one transaction."""
        now = self._clock()
        moves: list[tuple[str, Move]] = []
        messages: list[dict[str, Any]] = []
        async with UnitOfWork(self._sessions) as uow:
            for outcome in outcomes:
                job = outcome.job
                if outcome.result is not None:
                    moves.append((job.id, self._sent(job, now, outcome.result.provider_message_id)))
                    messages.append(_message_row(job, outcome, now))
                else:
                    await self._unsent(uow, outcome, now)
            await recorder.record_many(uow, moves, at=now)
            await uow.messages.add_outbound_many(messages)
            await uow.commit()
        for outcome in outcomes:
            if outcome.result is not None:
                log.info(
                    "%s %s sent on %s",
                    "reminder for" if outcome.job.reminder else "invitation",
                    outcome.job.id,
                    outcome.job.channel,
                )

    def _sent(self, job: Job, now: datetime, provider_id: str) -> Move:
        invitation, survey = job.invitation, job.survey
        if job.reminder:
            count = invitation.reminders_sent + 1
            # A reminder on another channel moves the conversation there.
            moved = job.channel if job.channel != invitation.channel else None
            remind_on = self._reminder_channel(job, after=job.channel)
            next_at = reminder_at(
                job, invitation.sent_at or now, count + 1, info=self._info(remind_on, job.channel)
            )
            return lifecycle.reminded(
                now, count=count, next_at=next_at, channel=moved, remind_on=remind_on
            )
        ttl = (
            timedelta(hours=survey.expires_after_hours)
            if survey.expires_after_hours
            else self._policy.invitation_ttl
        )
        expires_at = now + ttl
        remind_on = self._reminder_channel(job, after=job.channel)
        return lifecycle.sent(
            now,
            provider_message_id=provider_id,
            expires_at=expires_at,
            remind_at=reminder_at(
                job, now, 1, expires_at=expires_at, info=self._info(remind_on, job.channel)
            ),
            remind_on=remind_on,
        )

    def _reminder_channel(self, job: Job, *, after: str) -> str | None:
        """The next reminder's channel when it is not the conversation's (reminders: next)."""
        if job.survey.reminders.channel != "next" or not job.invitation.channels:
            return None
        return self._fallback.reminder_channel(
            job.contact, job.invitation.channels, after, failed=job.failed
        )

    def _info(self, channel: str | None, default: str) -> ChannelInfo | None:
        return self._infos.get(channel or default)

    async def _unsent(self, uow: UnitOfWork, outcome: Outcome, now: datetime) -> None:
        """Record a send the provider refused: retry later, or stop (and maybe suppress); a
        question stopped on one channel moves on to the next of its order, if it has one."""
        job, error = outcome.job, (outcome.error or "")[:500]
        invitation = job.invitation
        if outcome.suppress and job.contact.id is not None:
            await uow.opt_outs.add(job.contact.id, job.channel, source="provider")
            recorder.announce_opt_out(uow, job.contact.id, job.channel, source="provider", now=now)
        if job.reminder:
            if outcome.permanent:
                failure = Failure(job.channel, fb.REFUSED, error, outcome.code)
                move = await failed_send(uow, self._fallback, job, failure, now)
            else:
                delay = self._policy.backoff(1, outcome.retry_after)
                move = lifecycle.reminder_moved(now, at=now + timedelta(seconds=delay), error=error)
            await recorder.record(uow, invitation.id, move, at=now)
            log.warning("reminder for %s not sent on %s: %s", invitation.id, job.channel, error)
            return
        reason = fb.REFUSED
        if not outcome.permanent and invitation.attempts >= self._policy.max_attempts:
            outcome.permanent = True
            reason = fb.GAVE_UP
            error = f"gave up after {invitation.attempts} attempts: {error}"[:500]
        if outcome.permanent:
            failure = Failure(job.channel, reason, error, outcome.code)
            move = await failed_send(uow, self._fallback, job, failure, now)
            await recorder.record(uow, invitation.id, move, at=now)
            if move.name == "fell back":
                log.warning(
                    "invitation %s failed on %s, moves to %s: %s",
                    invitation.id,
                    job.channel,
                    move.values["channel"],
                    error,
                )
            else:
                log.warning("invitation %s failed permanently: %s", invitation.id, error)
            return
        delay = self._policy.backoff(invitation.attempts, outcome.retry_after)
        at = now + timedelta(seconds=delay)
        await recorder.record(uow, invitation.id, lifecycle.retry(now, at=at, error=error), at=now)
        log.warning("invitation %s: transient failure, retry in %.1fs", invitation.id, delay)


def reminder_at(
    job: Job,
    sent_at: datetime,
    number: int,
    *,
    expires_at: datetime | None = None,
    info: ChannelInfo | None = None,
) -> datetime | None:
    """When reminder `number` is due on its channel (`info`), or None (no more reminders, or
    the survey closes first)."""
    survey, invitation = job.survey, job.invitation
    # A link-only channel (the web chat) cannot reach anyone by itself: nothing to remind with.
    if number > survey.reminders.count or info is None or not info.reaches_by_itself:
        return None
    window = survey.send_window(info.name, info.quiet_hours)
    due = next_allowed(sent_at + timedelta(hours=survey.reminder_delay(number)), window, job.zone)
    closes = expires_at or invitation.expires_at
    return due if closes is None or due < closes else None


def _message_row(job: Job, outcome: Outcome, now: datetime) -> dict[str, Any]:
    assert outcome.result is not None
    return {
        "channel": job.channel,
        "direction": "out",
        "address": job.address,
        "text": outcome.text,
        "invitation_id": job.id,
        "contact_id": job.contact.id,
        "provider_message_id": outcome.result.provider_message_id,
        "created_at": now,
    }
