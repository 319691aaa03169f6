"""Who is asked on which channel, whether at all, and when: the one decision triggers and campaigns share.

Pure: the callers look up what a decision needs (the contact's opt-outs, whether they were
surveyed lately) and record what it returns. Channel choice goes best first through the
channels that are on; eligibility keeps the lasting reason (opt-out, then the throttle, then
sampling); the send time waits out the channel's quiet hours in the contact's own time zone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channels.base import ChannelInfo
from storage.models import InvitationStatus
from surveys.definitions import Survey
from surveys.eligibility import decide, sampled_in
from surveys.quiet_hours import next_allowed

NOT_ON = "not_on"
NO_ADDRESS = "no_address"


@dataclass(frozen=True, slots=True)
class Unreachable:
    """No channel can ask this contact: why, and the channel that was asked for, if one was."""

    reason: str  # NOT_ON: the requested channel is off here; NO_ADDRESS: nothing reaches them
    channel: ChannelInfo | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What becomes of one invitation: scheduled for `send_at`, or skipped with a reason."""

    status: str
    reason: str | None
    send_at: datetime

    @property
    def eligible(self) -> bool:
        return self.status == InvitationStatus.SCHEDULED


def choose_channel(
    contact: Any,
    channels: Sequence[ChannelInfo],
    *,
    opted_out: Collection[str] = (),
    requested: str | None = None,
) -> ChannelInfo | Unreachable:
    """The channel to ask `contact` on, among `channels` (those on, best first).

    A requested channel must be on and reach the contact. Otherwise the best channel that
    reaches them and is not opted out; when every one that reaches them is opted out, the best
    of those, so that the refusal is recorded (as a skip) rather than lost.
    """
    if requested is not None:
        info = next((i for i in channels if i.name == requested), None)
        if info is None:
            return Unreachable(NOT_ON)
        return info if info.reaches(contact) else Unreachable(NO_ADDRESS, info)
    reachable = [info for info in channels if info.reaches(contact)]
    for info in reachable:
        if info.name not in opted_out:
            return info
    return reachable[0] if reachable else Unreachable(NO_ADDRESS)


def zone_of(contact_timezone: str | None, survey_timezone: str) -> ZoneInfo:
    """The contact's own time zone, else the survey's (also when the contact's is unknown here)."""
    if contact_timezone:
        try:
            return ZoneInfo(contact_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(survey_timezone)


def plan(
    survey: Survey,
    channel: ChannelInfo,
    *,
    wanted_at: datetime,
    zone: ZoneInfo,
    opted_out: bool,
    surveyed: bool,
    sample_key: str,
) -> Plan:
    """Eligibility and the send time of one invitation on `channel`, wanted at `wanted_at`."""
    decision = decide(
        opted_out=opted_out,
        surveyed_in_window=surveyed,
        sampled=sampled_in(survey.sample_rate, sample_key),
    )
    window = survey.send_window(channel.name, channel.quiet_hours)
    return Plan(
        status=InvitationStatus.SCHEDULED if decision.eligible else InvitationStatus.SKIPPED,
        reason=decision.reason,
        send_at=next_allowed(wanted_at, window, zone),
    )
