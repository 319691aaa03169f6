"""What the outbox works on: a claimed send (a question or a reminder), and how it went."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.invitations import decisions
from channels.base import ChannelInfo, SendResult
from storage.records import ContactRecord, InvitationRecord
from surveys.definitions import Survey
from surveys.quiet_hours import Window


@dataclass(slots=True)
class Job:
    """One claimed send: a question, or a reminder of one, on a channel described by `info`."""

    invitation: InvitationRecord
    survey: Survey
    contact: ContactRecord
    opted_out: bool  # on the channel this send goes out on
    reminder: bool
    info: ChannelInfo | None  # this send's channel; None: a channel this server does not have
    failed: frozenset[str] = field(default_factory=frozenset)  # channels that failed it before
    # The contact's last message on the channel, read only where sessions matter (session_hours).
    last_inbound_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.invitation.id

    @property
    def channel(self) -> str:
        """The channel this send goes out on: a reminder's own (reminders: {channel: next}),
        else the invitation's."""
        return channel_of(self.invitation, reminder=self.reminder)

    @property
    def zone(self) -> ZoneInfo:
        return decisions.zone_of(self.contact.timezone, self.survey.timezone)

    @property
    def window(self) -> Window | None:
        default = self.info.quiet_hours if self.info else None
        return self.survey.send_window(self.channel, default)

    def in_session(self, now: datetime) -> bool:
        """Whether free text may go now: always, or within session_hours of their last message."""
        hours = self.info.session_hours if self.info else None
        if hours is None:
            return True
        last = self.last_inbound_at
        return last is not None and now - last < timedelta(hours=hours)

    @property
    def address(self) -> str | None:
        if self.info is None:
            return None
        # On a link-only channel the conversation itself is the address (its link carries the id).
        if self.info.address is None:
            return self.invitation.id
        return self.info.address_of(self.contact)


def channel_of(invitation: InvitationRecord, *, reminder: bool) -> str:
    """The channel a claimed question or reminder of `invitation` goes out on."""
    if reminder and invitation.remind_on:
        return invitation.remind_on
    return invitation.channel


@dataclass(slots=True)
class Outcome:
    """What happened to one send."""

    job: Job
    result: SendResult | None = None
    text: str = ""
    error: str | None = None
    code: str | None = None  # the provider's error code, if it gave one
    permanent: bool = False
    suppress: bool = False
    retry_after: float | None = None
