"""What the outbox works on: a claimed send (a question or a reminder), and how it went."""

from __future__ import annotations

from dataclasses import dataclass
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
    opted_out: bool
    reminder: bool
    info: ChannelInfo | None  # None: a channel this server does not have

    @property
    def id(self) -> str:
        return self.invitation.id

    @property
    def zone(self) -> ZoneInfo:
        return decisions.zone_of(self.contact.timezone, self.survey.timezone)

    @property
    def window(self) -> Window | None:
        default = self.info.quiet_hours if self.info else None
        return self.survey.send_window(self.invitation.channel, default)

    @property
    def address(self) -> str | None:
        if self.info is None:
            return None
        # On a link-only channel the conversation itself is the address (its link carries the id).
        if self.info.address is None:
            return self.invitation.id
        return self.info.address_of(self.contact)


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
