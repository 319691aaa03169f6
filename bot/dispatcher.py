"""The outbox worker: claims due invitations under a lease, sends the question, records the result.

A claim moves an invitation to `sending` with a lease; the result is recorded as soon as the
provider answers, well inside the lease (sends time out at half of it). A worker that dies
mid-batch leaves leases that run out, and the invitations are claimed again: none is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.rendering import Talk
from channels.base import (
    Channel,
    ChannelError,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
    degrade_to_text,
)
from storage.models import Contact, Invitation, InvitationStatus, Step, SurveyRow
from storage.repositories.contacts import address_on
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.quiet_hours import next_allowed

log = logging.getLogger("bot.dispatcher")
Status = InvitationStatus


class Dispatcher:
    """One channel-agnostic loop for every channel."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        prepare: Callable[[OutboundMessage, Invitation], OutboundMessage],
        invitation_ttl: timedelta,
        interval_seconds: float = 0.5,
        batch_size: int = 100,
        concurrency: int = 20,
        lease_seconds: int = 60,
        max_attempts: int = 6,
        retry_base_seconds: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._clock = clock
        self._prepare = prepare
        self._ttl = invitation_ttl
        self._interval = interval_seconds
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._lease = timedelta(seconds=lease_seconds)
        self._send_timeout = lease_seconds / 2
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due work now instead of at the next tick (a trigger just made some)."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until cancelled; errors back off and the loop goes on."""
        failures = 0
        while True:
            try:
                sent = await self.dispatch_due()
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatch round failed (%d in a row)", failures)
                sent = 0
                await asyncio.sleep(min(30.0, self._interval * 2**failures))
            if sent < self._batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
                except TimeoutError:
                    pass

    async def dispatch_due(self) -> int:
        """Claim one batch of due invitations and deliver them; returns how many were claimed."""
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            ids = await uow.invitations.claim_due(now, now + self._lease, self._batch_size)
            await uow.commit()
        if not ids:
            return 0
        async with UnitOfWork(self._sessions) as uow:
            claimed = await uow.invitations.for_dispatch(ids)
        await asyncio.gather(*(self._deliver(*item) for item in claimed))
        return len(ids)

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
        async with UnitOfWork(self._sessions) as uow:
            items = await uow.invitations.for_dispatch([invitation_id])
        for item in items:
            await self._deliver(*item)
        return True

    async def _deliver(
        self, invitation: Invitation, survey_row: SurveyRow, contact: Contact
    ) -> None:
        async with self._limit:
            channel = self._channels.get(invitation.channel)
            if channel is None:
                await self._failed(
                    invitation, f"the {invitation.channel} channel is not configured"
                )
                return
            address = self._address(invitation, contact)
            if not address:
                await self._failed(
                    invitation, f"the contact has no address on {invitation.channel}"
                )
                return
            if await self._opted_out(contact, invitation.channel):
                await self._cancelled(invitation, "opted_out")
                return
            survey = to_domain(survey_row)
            allowed_at = next_allowed(
                self._clock(),
                survey.send_window(invitation.channel),
                ZoneInfo(contact.timezone or survey.timezone),
            )
            if allowed_at > self._clock():
                await self._defer(invitation, allowed_at)
                return
            message = self._prepare(
                Talk.of(survey, contact, invitation, address).question(), invitation
            )
            try:
                result = await asyncio.wait_for(channel.send(message), timeout=self._send_timeout)
            except PermanentSendError as exc:
                await self._failed(invitation, str(exc), suppress=exc.suppress, contact=contact)
                return
            except (TransientSendError, TimeoutError, ChannelError) as exc:
                retry_after = getattr(exc, "retry_after", None)
                await self._retry(invitation, str(exc) or type(exc).__name__, retry_after)
                return
            except Exception as exc:
                log.exception(
                    "channel %s raised while sending invitation %s", channel.name, invitation.id
                )
                await self._retry(invitation, f"{type(exc).__name__}: {exc}", None)
                return
            ttl = (
                timedelta(hours=survey.expires_after_hours)
                if survey.expires_after_hours
                else self._ttl
            )
            await self._sent(
                invitation,
                contact,
                message_text=degrade_to_text(message, include_link=False),
                provider_id=result.provider_message_id,
                ttl=ttl,
            )

    @staticmethod
    def _address(invitation: Invitation, contact: Contact) -> str | None:
        # On the web the conversation itself is the address (its link carries the id).
        if invitation.channel == "web":
            return invitation.id
        return address_on(contact, invitation.channel)

    async def _defer(self, invitation: Invitation, send_at: datetime) -> None:
        # Checked again just before sending: a retry or a late claim may fall in quiet hours.
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.SCHEDULED,
                send_at=send_at,
                lease_until=None,
                attempts=max(0, invitation.attempts - 1),  # a deferral is not a send attempt
                updated_at=self._clock(),
            )
            await uow.commit()
        log.info("invitation %s deferred to %s (quiet hours)", invitation.id, send_at.isoformat())

    async def _opted_out(self, contact: Contact, channel: str) -> bool:
        # Checked again at send time: the contact may have opted out after the trigger.
        async with UnitOfWork(self._sessions) as uow:
            return await uow.opt_outs.is_opted_out(contact.id or 0, channel)

    async def _cancelled(self, invitation: Invitation, reason: str) -> None:
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.CANCELLED,
                skip_reason=reason,
                lease_until=None,
                updated_at=self._clock(),
            )
            await uow.commit()
        log.info("invitation %s cancelled before sending: %s", invitation.id, reason)

    async def _sent(
        self,
        invitation: Invitation,
        contact: Contact,
        *,
        message_text: str,
        provider_id: str,
        ttl: timedelta,
    ) -> None:
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            moved = await uow.invitations.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.SENT,
                step=Step.AWAITING_SCORE,
                sent_at=now,
                expires_at=now + ttl,
                lease_until=None,
                provider_message_id=provider_id,
                last_error=None,
                updated_at=now,
            )
            if moved:
                await uow.messages.add_outbound(
                    channel=invitation.channel,
                    address=self._address(invitation, contact),
                    text=message_text,
                    invitation_id=invitation.id,
                    contact_id=contact.id,
                    provider_message_id=provider_id,
                    created_at=now,
                )
            await uow.commit()
        log.info("invitation %s sent on %s", invitation.id, invitation.channel)

    async def _retry(self, invitation: Invitation, error: str, retry_after: float | None) -> None:
        if invitation.attempts >= self._max_attempts:
            await self._failed(invitation, f"gave up after {invitation.attempts} attempts: {error}")
            return
        delay = (
            retry_after
            if retry_after is not None
            else self._retry_base * 2 ** (invitation.attempts - 1)
        )
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.SCHEDULED,
                send_at=now + timedelta(seconds=delay),
                lease_until=None,
                last_error=error[:500],
                updated_at=now,
            )
            await uow.commit()
        log.warning("invitation %s: transient failure, retry in %.1fs", invitation.id, delay)

    async def _failed(
        self,
        invitation: Invitation,
        error: str,
        *,
        suppress: bool = False,
        contact: Contact | None = None,
    ) -> None:
        now = self._clock()
        async with UnitOfWork(self._sessions) as uow:
            await uow.invitations.transition(
                invitation.id,
                [Status.SENDING],
                status=Status.FAILED,
                lease_until=None,
                last_error=error[:500],
                updated_at=now,
            )
            if suppress and contact is not None and contact.id is not None:
                await uow.opt_outs.add(contact.id, invitation.channel, source="provider")
            await uow.commit()
        log.warning("invitation %s failed permanently: %s", invitation.id, error)
