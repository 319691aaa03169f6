"""Channel fallback: a send that fails for good moves on to the next channel of the invitation's order.

An invitation made with a fallback order (`channels` of the trigger or the survey) keeps it in
`Invitation.channels`. When a channel cannot make the send — the provider refuses it for good
(a blocked bot, an opted-out or unreachable number, a hard bounce), retries run out, the contact
has no address there or opted out since, or the provider reports later that it never arrived —
the failure is recorded (`ChannelFailure`, with its reason) and the same invitation is scheduled
on the next channel of the order that is on, reaches the contact and is not opted out
(suppressed addresses count as opted out), at the first moment that channel's quiet hours allow.
Only when no channel is left does the invitation end the way it would have without an order
(`failed`, announcing `invitation.failed` once; `cancelled` for an opt-out).

Reminders with `reminders: {channel: next}` go out on the next channel of the order with an
address (`remind_on`); one that fails there is passed on to the next, and when none is left it
goes out on the conversation's own channel.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.invitations import decisions, lifecycle
from bot.invitations.lifecycle import Move
from bot.invitations.suppression import Suppressions
from channels.base import ChannelInfo
from storage.models import ChannelFailure
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from surveys.quiet_hours import next_allowed

# Why a channel was given up on.
NOT_ON = decisions.NOT_ON  # the channel is not configured on this server
NO_ADDRESS = decisions.NO_ADDRESS  # the contact has no address there (any more)
OPTED_OUT = "opted_out"  # the contact opted out there (or the address is suppressed)
REFUSED = "refused"  # the provider refused the message for good
GAVE_UP = "gave_up"  # temporary failures until the attempts ran out
UNDELIVERED = "undelivered"  # sent, then reported as never delivered
REASONS = (NOT_ON, NO_ADDRESS, OPTED_OUT, REFUSED, GAVE_UP, UNDELIVERED)


@dataclass(frozen=True, slots=True)
class Failure:
    """One channel that could not make a send: why, the provider's code, what it said."""

    channel: str
    reason: str
    error: str
    code: str | None = None

    def row(self, invitation_id: str, now: datetime, *, reminder: bool) -> ChannelFailure:
        return ChannelFailure(
            invitation_id=invitation_id,
            channel=self.channel,
            reason=self.reason,
            code=(self.code or None) and self.code[:32],
            error=self.error[:500] or None,
            reminder=reminder,
            failed_at=now,
        )

    def summary(self) -> str:
        """The failure as `last_error` keeps it: "telegram: Forbidden: bot was blocked"."""
        return f"{self.channel}: {self.error}"


class Fallback:
    """Records failed channels and decides where a failed send goes next."""

    def __init__(self, channels: Sequence[ChannelInfo], suppression: Suppressions) -> None:
        self._channels = tuple(channels)  # the channels on, best first
        self._suppression = suppression

    @property
    def channels(self) -> tuple[ChannelInfo, ...]:
        return self._channels

    async def record(
        self,
        uow: UnitOfWork,
        invitation_id: str,
        failure: Failure,
        now: datetime,
        *,
        reminder: bool = False,
    ) -> None:
        """Record a failure that moves nothing (a reminder's delivery report, say)."""
        await uow.failures.add(failure.row(invitation_id, now, reminder=reminder))

    async def question_failed(
        self,
        uow: UnitOfWork,
        invitation_id: str,
        *,
        order: Sequence[str] | None,
        contact: Any,
        survey: Survey,
        failure: Failure,
        now: datetime,
        after_sent: bool = False,
    ) -> Move | None:
        """Record that the question could not go out on `failure.channel`; the move to the next
        channel of the order, or None when none is left (the caller ends the invitation)."""
        await uow.failures.add(failure.row(invitation_id, now, reminder=False))
        if not order:
            return None
        nxt = decisions.following(
            contact,
            self._channels,
            order,
            failure.channel,
            opted_out=await self._unusable(uow, invitation_id, contact),
        )
        if nxt is None:
            return None
        zone = decisions.zone_of(contact.timezone, survey.timezone)
        send_at = next_allowed(now, survey.send_window(nxt.name, nxt.quiet_hours), zone)
        return lifecycle.fell_back(
            now, channel=nxt.name, send_at=send_at, error=failure.summary(), after_sent=after_sent
        )

    async def reminder_failed(
        self,
        uow: UnitOfWork,
        invitation_id: str,
        *,
        order: Sequence[str] | None,
        current: str,
        contact: Any,
        failure: Failure,
        now: datetime,
    ) -> Move | None:
        """Record that a reminder could not go out on `failure.channel`. When that was a channel
        of its own (not the conversation's, `current`), the move that sends it on the next one,
        or on the conversation's channel when none is left; None: it is dropped."""
        await uow.failures.add(failure.row(invitation_id, now, reminder=True))
        if failure.channel == current:
            return None
        unusable = await self._unusable(uow, invitation_id, contact)
        nxt = decisions.following(
            contact, self._channels, order, failure.channel, opted_out=unusable, by_itself=True
        )
        return lifecycle.reminder_passed_on(
            now, remind_on=nxt.name if nxt else None, at=now, error=failure.summary()
        )

    def reminder_channel(
        self, contact: Any, order: Sequence[str] | None, after: str, failed: Collection[str] = ()
    ) -> str | None:
        """The channel the next reminder goes out on with reminders: {channel: next}: the next
        channel of the order after `after` that reaches the contact by itself and has not failed
        them; None: the conversation's own. Opt-outs are checked when the reminder is due."""
        nxt = decisions.following(
            contact, self._channels, order, after, opted_out=failed, by_itself=True
        )
        return nxt.name if nxt else None

    async def _unusable(self, uow: UnitOfWork, invitation_id: str, contact: Any) -> set[str]:
        """The channels not to move to: opted out, suppressed, or failed this invitation."""
        unusable: set[str] = set()
        if contact.id is not None:
            unusable |= await uow.opt_outs.channels_of(contact.id)
        unusable |= await self._suppression.channels_of(uow, contact, self._channels)
        unusable |= {row.channel for row in await uow.failures.of_invitation(invitation_id)}
        return unusable
