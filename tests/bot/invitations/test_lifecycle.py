"""An invitation's life without a database: every move, where it may start, what it announces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.invitations import lifecycle
from bot.invitations.lifecycle import Move
from storage.models import InvitationStatus as Status
from storage.models import Step
from surveys.definitions import Survey

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass
class Invitation:
    """Just the state the moves read and write."""

    status: str = Status.SCHEDULED
    step: str = Step.AWAITING_SCORE
    reprompts: int = 0
    expires_at: datetime | None = None
    written: dict[str, Any] = field(default_factory=dict)

    def apply(self, move: Move | None) -> bool:
        if move is None or not move.allowed_from(self.status):
            return False
        for name, value in move.values.items():
            if hasattr(self, name):
                setattr(self, name, value)
            self.written[name] = value
        return True


def sent_invitation() -> Invitation:
    invitation = Invitation()
    assert invitation.apply(lifecycle.claimed(NOW, NOW + timedelta(minutes=1)))
    later = NOW + timedelta(days=7)
    assert invitation.apply(
        lifecycle.sent(NOW, provider_message_id="SM1", expires_at=later, remind_at=None)
    )
    return invitation


CSAT = Survey.model_validate(
    {"key": "s", "metric": "csat", "reasons": ["Slow", "Rude"]}  # reasons after 1-2
)


def test_a_whole_conversation_with_a_reason_and_a_comment() -> None:
    invitation = sent_invitation()
    assert (invitation.status, invitation.step) == (Status.SENT, Step.AWAITING_SCORE)
    assert lifecycle.in_conversation(invitation) and lifecycle.takes_answers(invitation, NOW)
    step = lifecycle.next_step(CSAT, 2, reason_settled=False, has_comment=False)
    scored = lifecycle.scored(step)
    assert scored.events == (lifecycle.RESPONSE_CREATED,)
    assert invitation.apply(scored)
    assert (invitation.status, invitation.step) == (Status.ANSWERED, Step.AWAITING_REASON)
    step = lifecycle.next_step(CSAT, 2, reason_settled=True, has_comment=False)
    assert invitation.apply(lifecycle.reason_given(step))
    assert invitation.step == Step.AWAITING_COMMENT
    done = lifecycle.completed(updated=True)
    assert done.events == (lifecycle.RESPONSE_UPDATED, lifecycle.RESPONSE_COMPLETED)
    assert invitation.apply(done)
    assert (invitation.status, invitation.step) == (Status.COMPLETED, Step.DONE)
    assert lifecycle.ended(invitation) and not lifecycle.in_conversation(invitation)


def test_a_high_score_with_its_comment_is_done_at_once() -> None:
    invitation = sent_invitation()
    step = lifecycle.next_step(CSAT, 5, reason_settled=False, has_comment=True)
    assert step == Step.DONE
    move = lifecycle.scored(step)
    assert move.events == (lifecycle.RESPONSE_CREATED, lifecycle.RESPONSE_COMPLETED)
    assert invitation.apply(move) and invitation.status == Status.COMPLETED


def test_the_next_step_follows_the_survey() -> None:
    no_comment = Survey.model_validate({"key": "s", "metric": "csat", "ask_comment": False})
    assert lifecycle.next_step(no_comment, 1, reason_settled=False, has_comment=False) == (
        Step.DONE
    )
    assert lifecycle.next_step(CSAT, 1, reason_settled=True, has_comment=True) == Step.DONE
    assert lifecycle.next_step(CSAT, 4, reason_settled=False, has_comment=False) == (
        Step.AWAITING_COMMENT
    )


def test_answers_move_only_a_conversation_that_is_open() -> None:
    scheduled = Invitation()
    assert not scheduled.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    assert lifecycle.awaiting_send(scheduled.status) and not lifecycle.takes_answers(scheduled, NOW)
    invitation = sent_invitation()
    assert not invitation.apply(lifecycle.rescored(Step.DONE))  # no score to replace yet
    assert not invitation.apply(lifecycle.completed(updated=False))
    assert invitation.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    assert not invitation.apply(lifecycle.scored(Step.DONE))  # the first score only once
    assert invitation.apply(lifecycle.rescored(Step.AWAITING_REASON))
    assert invitation.step == Step.AWAITING_REASON


def test_reprompts_count_up_and_an_answer_resets_them() -> None:
    invitation = sent_invitation()
    assert invitation.apply(lifecycle.reprompted(invitation))
    assert invitation.apply(lifecycle.reprompted(invitation))
    assert invitation.reprompts == 2
    assert invitation.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    assert invitation.reprompts == 0


def test_giving_up_closes_an_unanswered_question() -> None:
    invitation = sent_invitation()
    assert invitation.apply(lifecycle.gave_up())
    assert (invitation.status, invitation.step) == (Status.CLOSED, Step.DONE)
    assert lifecycle.ended(invitation)


@pytest.mark.parametrize(
    ("answered", "status", "events"),
    [(False, Status.EXPIRED, ()), (True, Status.COMPLETED, (lifecycle.RESPONSE_COMPLETED,))],
)
def test_running_out_of_time(answered: bool, status: str, events: tuple[str, ...]) -> None:
    invitation = sent_invitation()
    if answered:
        invitation.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    invitation.expires_at = NOW
    assert lifecycle.expired(invitation, NOW) and not lifecycle.takes_answers(invitation, NOW)
    assert lifecycle.in_conversation(invitation)  # until a message arrives to find out
    move = lifecycle.ran_out(invitation)
    assert move.events == events
    assert invitation.apply(move) and (invitation.status, invitation.step) == (status, Step.DONE)


def test_opting_out_ends_only_a_conversation_still_open() -> None:
    waiting = sent_invitation()
    assert waiting.apply(lifecycle.closed_by_opt_out(waiting))
    assert (waiting.status, waiting.step) == (Status.CLOSED, Step.DONE)
    answered = sent_invitation()
    answered.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    move = lifecycle.closed_by_opt_out(answered)
    assert move is not None and move.events == (lifecycle.RESPONSE_COMPLETED,)
    assert answered.apply(move) and answered.status == Status.COMPLETED  # the score is kept
    assert lifecycle.closed_by_opt_out(answered) is None  # finished: nothing to end again
    assert lifecycle.closed_by_opt_out(Invitation()) is None  # not sent yet


def test_sending_moves_forward_or_back_to_waiting() -> None:
    invitation = Invitation()
    claim = lifecycle.claimed(NOW, NOW + timedelta(minutes=1))
    assert invitation.apply(claim) and invitation.status == Status.SENDING
    assert not invitation.apply(claim)  # once only
    later = NOW + timedelta(seconds=4)
    retry = lifecycle.retry(NOW, at=later, error="timeout")
    assert invitation.apply(retry) and invitation.status == Status.SCHEDULED
    assert invitation.written["send_at"] == later and invitation.written["last_error"] == "timeout"
    deferral = lifecycle.retry(NOW, at=later, attempts=0)
    assert "last_error" not in deferral.values and deferral.values["attempts"] == 0
    invitation.apply(claim)
    failed = lifecycle.failed(NOW, "x" * 600)
    assert failed.events == (lifecycle.INVITATION_FAILED,)
    assert invitation.apply(failed) and len(invitation.written["last_error"]) == 500
    assert lifecycle.withdrawn(invitation.status)
    assert not invitation.apply(
        lifecycle.sent(NOW, provider_message_id="SM2", expires_at=NOW, remind_at=None)
    )


def test_a_delivery_failure_fails_only_an_unanswered_question() -> None:
    invitation = sent_invitation()
    assert invitation.apply(lifecycle.delivery_failed(NOW, "SMS undelivered"))
    assert invitation.status == Status.FAILED
    answered = sent_invitation()
    answered.apply(lifecycle.scored(Step.AWAITING_COMMENT))
    assert not answered.apply(lifecycle.delivery_failed(NOW, "late report"))


def test_cancelling_takes_back_only_what_was_not_sent() -> None:
    scheduled = Invitation()
    assert scheduled.apply(lifecycle.cancelled(NOW))
    assert (scheduled.status, scheduled.written["skip_reason"]) == (Status.CANCELLED, "cancelled")
    assert lifecycle.withdrawn(scheduled.status)
    assert not sent_invitation().apply(lifecycle.cancelled(NOW))
    sending = Invitation(status=Status.SENDING)
    assert not sending.apply(lifecycle.cancelled(NOW))  # a caller cannot stop a send under way
    assert sending.apply(lifecycle.cancelled(NOW, reason="opted_out", sending=True))
    assert sending.written["lease_until"] is None


def test_reminders_move_within_a_sent_question() -> None:
    invitation = sent_invitation()
    at = NOW + timedelta(days=2)
    assert invitation.apply(lifecycle.reminded(NOW, count=1, next_at=at))
    assert invitation.written["reminders_sent"] == 1 and invitation.written["remind_at"] == at
    assert invitation.apply(lifecycle.reminder_moved(NOW, at=None))
    assert invitation.written["remind_at"] is None
    assert not Invitation().apply(lifecycle.reminded(NOW, count=1, next_at=None))


def test_a_dead_workers_send_is_failed_not_repeated() -> None:
    move = lifecycle.interrupted(NOW)
    assert move.sources == (Status.SENDING,)
    assert move.values["status"] == Status.FAILED
    assert move.values["skip_reason"] == lifecycle.INTERRUPTED


def test_a_failed_send_falls_back_to_the_next_channel_announcing_nothing() -> None:
    at = NOW + timedelta(hours=9)
    move = lifecycle.fell_back(NOW, channel="sms", send_at=at, error="telegram: blocked")
    assert move.sources == (Status.SENDING,) and move.events == ()
    sending = Invitation(status=Status.SENDING)
    assert sending.apply(move)
    assert (sending.status, sending.written["channel"], sending.written["send_at"]) == (
        Status.SCHEDULED,
        "sms",
        at,
    )
    assert sending.written["attempts"] == 0 and sending.written["last_error"] == "telegram: blocked"
    # A question reported undelivered after it was sent starts again on the next channel.
    undelivered = lifecycle.fell_back(
        NOW, channel="email", send_at=NOW, error="sms: undelivered", after_sent=True
    )
    invitation = sent_invitation()
    assert invitation.apply(undelivered)
    assert invitation.status == Status.SCHEDULED
    assert (invitation.written["sent_at"], invitation.written["reminders_sent"]) == (None, 0)
    assert not Invitation(status=Status.ANSWERED).apply(undelivered)


def test_a_reminder_on_the_next_channel_moves_the_conversation_there() -> None:
    invitation = sent_invitation()
    assert invitation.apply(
        lifecycle.reminded(NOW, count=1, next_at=None, channel="email", remind_on=None)
    )
    assert (invitation.written["channel"], invitation.written["remind_on"]) == ("email", None)
    passed = lifecycle.reminder_passed_on(NOW, remind_on=None, at=NOW, error="email: bounced")
    assert passed.sources == (Status.SENT,) and passed.values["remind_on"] is None
    assert "channel" not in lifecycle.reminded(NOW, count=1, next_at=None).values
