"""Who is asked on which channel, whether at all, and when: the one decision triggers and campaigns share.

Pure: the callers look up what a decision needs (the contact's opt-outs, whether they were
surveyed lately) and record what it returns. Channel choice goes best first through the
channels that are on, or through a fallback order (the trigger's `channels`, else the survey's);
eligibility keeps the lasting reason (opt-out, then the throttle, then sampling); the send time
waits out the channel's quiet hours in the contact's own time zone. `following` is the channel a
failed send falls back to, and the one a reminder on the next channel goes out on.
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


def fallback_order(
    survey: Survey, *, requested: str | None = None, channels: Sequence[str] | None = None
) -> list[str] | None:
    """The order an invitation falls back through: the trigger's `channels`, else the survey's;
    none when one channel was asked for (that channel alone)."""
    if requested is not None:
        return None
    order = channels or survey.channels
    return list(order) if order else None


def listed(names: Collection[str]) -> str:
    """Names as a sentence lists them: 'telegram', 'sms', 'email' or 'web'."""
    quoted = [repr(name) for name in names]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def order_problem(order: Sequence[str], channels: Sequence[ChannelInfo]) -> str | None:
    """What is wrong with a fallback order, in a sentence, or None.

    `channels` are every channel surveybot has (on here or not). A channel without an address
    of its own (the web chat) is reached only through the link a trigger hands back: it cannot
    take over from a failed channel unannounced, so it may only come last.
    """
    known = {info.name: info for info in channels}
    for name in order:
        if name not in known:
            return f"{name!r} is not a channel; use {listed(known)}"
    repeated = sorted({name for name in order if list(order).count(name) > 1})
    if repeated:
        return f"{', '.join(repeated)} is listed twice; name each channel once"
    for name in list(order)[:-1]:
        if known[name].address is None:
            return (
                f"{name} has no address to fall back to (its link is handed out by the "
                "trigger), so it can only be the last channel of the order"
            )
    return None


def in_order(channels: Sequence[ChannelInfo], order: Sequence[str] | None) -> list[ChannelInfo]:
    """The channels on, in the fallback order (without one: all of them, best first)."""
    if order is None:
        return list(channels)
    by_name = {info.name: info for info in channels}
    return [by_name[name] for name in order if name in by_name]


def choose_channel(
    contact: Any,
    channels: Sequence[ChannelInfo],
    *,
    opted_out: Collection[str] = (),
    requested: str | None = None,
    order: Sequence[str] | None = None,
) -> ChannelInfo | Unreachable:
    """The channel to ask `contact` on, among `channels` (those on, best first).

    A requested channel must be on and reach the contact. Otherwise the best channel (the first
    of `order`, when there is one; those off here are passed over) that reaches them and is not
    opted out; when every one that reaches them is opted out, the best of those, so that the
    refusal is recorded (as a skip) rather than lost.
    """
    if requested is not None:
        info = next((i for i in channels if i.name == requested), None)
        if info is None:
            return Unreachable(NOT_ON)
        return info if info.reaches(contact) else Unreachable(NO_ADDRESS, info)
    candidates = in_order(channels, order)
    if order is not None and not candidates:
        return Unreachable(NOT_ON)
    reachable = [info for info in candidates if info.reaches(contact)]
    for info in reachable:
        if info.name not in opted_out:
            return info
    return reachable[0] if reachable else Unreachable(NO_ADDRESS)


def following(
    contact: Any,
    channels: Sequence[ChannelInfo],
    order: Sequence[str] | None,
    after: str,
    *,
    opted_out: Collection[str] = (),
    by_itself: bool = False,
) -> ChannelInfo | None:
    """The channel after `after` in `order` that is on, reaches the contact and is not opted
    out (with `by_itself`, one with an address: a reminder needs one), or None.

    Only later channels are considered: an invitation never goes back to a channel it left.
    """
    if not order or after not in order:
        return None
    later = list(order)[list(order).index(after) + 1 :]
    for info in in_order(channels, later):
        if by_itself and not info.reaches_by_itself:
            continue
        if info.reaches(contact) and info.name not in opted_out:
            return info
    return None


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
