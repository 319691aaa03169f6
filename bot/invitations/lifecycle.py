"""An invitation's life in one place: every change of its status and step, as pure functions.

    scheduled ─claim─▶ sending ─sent─▶ sent ─score─▶ answered ─reason, comment─▶ completed
      │ ▲ ▲              │   │           │               │
      │ │ └─retry, defer─┘   └─fail─▶ failed ◀─delivery failed
      │ └───fell back────────┘ ◀─────────┤ (delivery failed, with a next channel)
      │                                  ├─gave up, opted out, erased─▶ closed (answered: completed)
      └─cancel─▶ cancelled               └─expire─▶ expired (completed once answered)

    skipped is decided when the invitation is made (bot.invitations.decisions).

A send that fails for good on a channel with a later one in the invitation's fallback order
*falls back*: scheduled again on that channel (bot.invitations.fallback), the one move that goes
back from `sent` (the question never arrived). `invitation.failed` is announced only when no
channel is left.

Each function returns a `Move`: the statuses it may start from (re-checked where it is written,
so of two writers only one moves the invitation), the values it writes, and the outbound events
it announces. Nothing here touches the database; `bot.invitations.recorder` writes moves, and is
where their events will be handed to the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.models import InvitationStatus, Step
from surveys.definitions import Survey

Status = InvitationStatus

# The outbound events a move announces.
RESPONSE_CREATED = "response.created"
RESPONSE_UPDATED = "response.updated"
RESPONSE_COMPLETED = "response.completed"
INVITATION_FAILED = "invitation.failed"
CONTACT_OPTED_OUT = "contact.opted_out"

INTERRUPTED = "interrupted"  # the skip reason of a send a dead worker had started


class State(Protocol):
    """What the moves read of an invitation (a row, or a record of one)."""

    @property
    def status(self) -> str: ...

    @property
    def step(self) -> str: ...

    @property
    def reprompts(self) -> int: ...

    @property
    def expires_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Move:
    """One change of an invitation: allowed from `sources`, writing `values`, announcing `events`."""

    name: str
    sources: tuple[str, ...]
    values: Mapping[str, Any]
    events: tuple[str, ...] = ()

    def allowed_from(self, status: str) -> bool:
        return status in self.sources


# What a state means.


def awaiting_send(status: str) -> bool:
    """Not sent yet: the conversation has not begun (an answer now is early)."""
    return status in (Status.SCHEDULED, Status.SENDING)


def withdrawn(status: str) -> bool:
    """Never asked, or taken back: its links lead nowhere."""
    return status in (Status.SKIPPED, Status.CANCELLED, Status.FAILED)


def in_conversation(state: State) -> bool:
    """Sent and not finished: the next message is an answer."""
    return state.status in Status.OPEN and state.step != Step.DONE


def ended(state: State) -> bool:
    """The conversation is over (completed, closed or expired): an answer changes nothing now."""
    return state.step == Step.DONE or state.status in (
        Status.COMPLETED,
        Status.CLOSED,
        Status.EXPIRED,
    )


def expired(state: State, now: datetime) -> bool:
    return state.expires_at is not None and now >= state.expires_at


def takes_answers(state: State, now: datetime) -> bool:
    return in_conversation(state) and not expired(state, now)


def next_step(survey: Survey, score: int, *, reason_settled: bool, has_comment: bool) -> str:
    """After a score (or its reason): the reasons list, the comment, or done."""
    if survey.asks_reason(score) and not reason_settled:
        return Step.AWAITING_REASON
    if not has_comment and survey.ask_comment:
        return Step.AWAITING_COMMENT
    return Step.DONE


# Sending (the outbox).


def claimed(now: datetime, lease_until: datetime) -> Move:
    """Taken for sending now, out of turn (the web chat page was opened first)."""
    values = {"status": Status.SENDING, "lease_until": lease_until, "attempts": 1}
    return Move("claimed", (Status.SCHEDULED,), {**values, "updated_at": now})


def sent(
    now: datetime,
    *,
    provider_message_id: str,
    expires_at: datetime,
    remind_at: datetime | None,
    remind_on: str | None = None,
) -> Move:
    """The question went out; `remind_on` is the first reminder's channel when not this one."""
    values = {
        "status": Status.SENT,
        "step": Step.AWAITING_SCORE,
        "sent_at": now,
        "expires_at": expires_at,
        "remind_at": remind_at,
        "remind_on": remind_on,
        "lease_until": None,
        "send_started_at": None,
        "provider_message_id": provider_message_id,
        "last_error": None,
        "updated_at": now,
    }
    return Move("sent", (Status.SENDING,), values)


def retry(
    now: datetime, *, at: datetime, error: str | None = None, attempts: int | None = None
) -> Move:
    """Back to waiting: a transient failure (with its error), or quiet hours (a deferral, which
    gives back its attempt)."""
    values: dict[str, Any] = {
        "status": Status.SCHEDULED,
        "send_at": at,
        "lease_until": None,
        "updated_at": now,
    }
    if error is not None:
        values.update(send_started_at=None, last_error=error[:500])
    if attempts is not None:
        values["attempts"] = attempts
    return Move("retry", (Status.SENDING,), values)


def failed(now: datetime, error: str) -> Move:
    """The send failed for good (a refusal, too many attempts, or nothing to send it with)."""
    values = {
        "status": Status.FAILED,
        "lease_until": None,
        "send_started_at": None,
        "last_error": error[:500],
        "updated_at": now,
    }
    return Move("failed", (Status.SENDING,), values, (INVITATION_FAILED,))


def fell_back(
    now: datetime, *, channel: str, send_at: datetime, error: str, after_sent: bool = False
) -> Move:
    """The send failed for good on its channel: scheduled again on the next one of the fallback
    order, as a fresh send there (no attempts yet). `after_sent`: the provider reported, after
    sending, that the question never arrived; nothing of that send counts any more."""
    values: dict[str, Any] = {
        "status": Status.SCHEDULED,
        "channel": channel,
        "send_at": send_at,
        "attempts": 0,
        "lease_until": None,
        "send_started_at": None,
        "last_error": error[:500],
        "provider_message_id": None,
        "delivery_status": None,
        "remind_at": None,
        "remind_on": None,
        "updated_at": now,
    }
    if after_sent:
        values.update(sent_at=None, expires_at=None, step=Step.AWAITING_SCORE, reminders_sent=0)
    return Move("fell back", (Status.SENT,) if after_sent else (Status.SENDING,), values)


def interrupted(now: datetime) -> Move:
    """A dead worker's send that may have gone out: failed, and never sent a second time."""
    values = {
        "status": Status.FAILED,
        "skip_reason": INTERRUPTED,
        "last_error": "the worker stopped while sending; not sent again to avoid a duplicate",
        "lease_until": None,
        "updated_at": now,
    }
    return Move("interrupted", (Status.SENDING,), values, (INVITATION_FAILED,))


def delivery_failed(now: datetime, error: str) -> Move:
    """The provider reported, after sending, that the question never arrived."""
    values = {"status": Status.FAILED, "last_error": error[:500], "updated_at": now}
    return Move("delivery failed", (Status.SENT,), values, (INVITATION_FAILED,))


def cancelled(now: datetime, *, reason: str = "cancelled", sending: bool = False) -> Move:
    """Not to be sent: cancelled by a caller while scheduled, or by the outbox at send time
    (`sending`, the contact opted out meanwhile)."""
    values: dict[str, Any] = {"status": Status.CANCELLED, "skip_reason": reason, "updated_at": now}
    if sending:
        values["lease_until"] = None
    return Move("cancelled", (Status.SENDING if sending else Status.SCHEDULED,), values)


def reminded(
    now: datetime,
    *,
    count: int,
    next_at: datetime | None,
    channel: str | None = None,
    remind_on: str | None = None,
) -> Move:
    """A reminder went out. On another channel (`channel`, reminders: {channel: next}) the
    conversation moves there: replies on it find the invitation. `remind_on` is the next
    reminder's channel when not the conversation's."""
    values: dict[str, Any] = {
        "reminders_sent": count,
        "remind_at": next_at,
        "remind_on": remind_on,
        "send_started_at": None,
    }
    if channel is not None:
        values["channel"] = channel
    return Move("reminded", (Status.SENT,), {**values, "updated_at": now})


def reminder_passed_on(
    now: datetime, *, remind_on: str | None, at: datetime, error: str | None = None
) -> Move:
    """The reminder's own channel cannot send it: it goes out at `at` on `remind_on`, the next
    channel of the order (None: the conversation's own channel)."""
    values: dict[str, Any] = {"remind_at": at, "remind_on": remind_on, "updated_at": now}
    if error is not None:
        values.update(send_started_at=None, last_error=error[:500])
    return Move("reminder passed on", (Status.SENT,), values)


def reminder_moved(now: datetime, *, at: datetime | None, error: str | None = None) -> Move:
    """The reminder waits until `at` (quiet hours, a retry), or with None is dropped."""
    values: dict[str, Any] = {"remind_at": at, "updated_at": now}
    if error is not None:
        values.update(send_started_at=None, last_error=error[:500])
    return Move("reminder moved", (Status.SENT,), values)


# The conversation (the engine).


def _answered(name: str, sources: tuple[str, ...], step: str, event: str) -> Move:
    done = step == Step.DONE
    values = {
        "status": Status.COMPLETED if done else Status.ANSWERED,
        "step": step,
        "reprompts": 0,
    }
    return Move(name, sources, values, (event, RESPONSE_COMPLETED) if done else (event,))


def scored(step: str) -> Move:
    """The first score; `step` is what comes next (`next_step`)."""
    return _answered("scored", (Status.SENT,), step, RESPONSE_CREATED)


def rescored(step: str) -> Move:
    """A pressed score replaced the one given a moment ago."""
    return _answered("rescored", (Status.ANSWERED,), step, RESPONSE_UPDATED)


def reason_given(step: str) -> Move:
    """A reason picked, or skipped."""
    return _answered("reason given", (Status.ANSWERED,), step, RESPONSE_UPDATED)


def completed(*, updated: bool) -> Move:
    """The conversation is over (a comment given, or skipped)."""
    events = (RESPONSE_UPDATED, RESPONSE_COMPLETED) if updated else (RESPONSE_COMPLETED,)
    values = {"status": Status.COMPLETED, "step": Step.DONE, "reprompts": 0}
    return Move("completed", (Status.ANSWERED,), values, events)


def reprompted(state: State) -> Move:
    return Move("reprompted", Status.OPEN, {"reprompts": state.reprompts + 1})


def gave_up() -> Move:
    """No score after the re-prompts: closed politely."""
    return Move("gave up", (Status.SENT,), {"status": Status.CLOSED, "step": Step.DONE})


def ran_out(state: State) -> Move:
    """Past its lifetime: expired, or completed when it has a score."""
    answered = state.status == Status.ANSWERED
    status = Status.COMPLETED if answered else Status.EXPIRED
    events = (RESPONSE_COMPLETED,) if answered else ()
    return Move("expired", Status.OPEN, {"status": status, "step": Step.DONE}, events)


def closed_by_opt_out(state: State) -> Move | None:
    """The conversation a contact opted out in ends (kept as completed when it has a score)."""
    if not in_conversation(state):
        return None
    answered = state.status == Status.ANSWERED
    status = Status.COMPLETED if answered else Status.CLOSED
    events = (RESPONSE_COMPLETED,) if answered else ()
    return Move("opted out", Status.OPEN, {"status": status, "step": Step.DONE}, events)


def closed_by_erasure(state: State) -> Move | None:
    """The open conversation of an erased contact ends: no answer may bring personal data back.
    Announces nothing: there is no one left to tell anything about."""
    if not in_conversation(state):
        return None
    status = Status.COMPLETED if state.status == Status.ANSWERED else Status.CLOSED
    values = {"status": status, "step": Step.DONE, "remind_at": None}
    return Move("erased", Status.OPEN, values)
