"""One turn of a conversation: the answer read, the invitation moved, the next message worded.

The engine (bot.conversation.engine) finds the conversation and stores the message; a `Turn`
carries it here, where every change of the invitation is a move of bot.invitations.lifecycle.
A turn changes the conversation's rows in memory; the engine writes what changed at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.conversation.talk import Talk
from bot.invitations import lifecycle, recorder
from bot.invitations.lifecycle import Move
from channels.base import OutboundMessage
from storage.models import Invitation, Response, Step
from storage.repositories.invitations import Conversation
from storage.uow import UnitOfWork
from surveys.keywords import Intent, detect_intent
from surveys.parsing import parse_answer

MAX_COMMENT_CHARS = 4000


@dataclass(slots=True)
class Turn:
    uow: UnitOfWork
    conversation: Conversation
    talk: Talk
    now: datetime
    max_reprompts: int
    out: list[OutboundMessage] = field(default_factory=list)
    # Where the message came from, for opt-outs: a channel with addresses (a reply on the
    # channel a conversation moved away from); None: the conversation's own channel (the
    # web chat's page answers for the invitation's channel, an email's too).
    via: str | None = None

    @property
    def channel(self) -> str:
        """The channel a STOP or START in this turn is about."""
        return self.via or self.invitation.channel

    @property
    def invitation(self) -> Invitation:
        return self.conversation.invitation

    @property
    def contact_id(self) -> int:
        return self.conversation.contact.id or 0

    async def move(self, move: Move) -> None:
        await recorder.record(
            self.uow, self.invitation, move, at=self.now, response=self.conversation.response
        )

    def say(self, message: OutboundMessage) -> None:
        self.out.append(message)


async def take(
    turn: Turn,
    text: str,
    *,
    rescore: bool = False,
    intent: Intent | None = None,
    source: str = "conversation",
) -> None:
    """Advance the conversation by one inbound message (opt-out words work at every step);
    `source` is what an opt-out is recorded as."""
    inv, talk = turn.invitation, turn.talk
    intent = intent or detect_intent(text, talk.locale)
    if intent is Intent.OPT_OUT:
        await recorder.opt_out(
            turn.uow,
            turn.contact_id,
            turn.channel,
            source=source,
            now=turn.now,
            conversation=inv,
        )
        turn.conversation.opted_out = True
        turn.say(talk.plain("opted_out"))
        return
    if intent is Intent.OPT_IN and turn.conversation.opted_out:
        await recorder.opt_in(turn.uow, turn.contact_id, turn.channel)
        turn.conversation.opted_out = False
        turn.say(talk.plain("opted_in"))
        return
    if intent is Intent.HELP:
        turn.say(talk.plain("help"))
        return
    if turn.conversation.opted_out or not lifecycle.in_conversation(inv):
        answered = turn.conversation.response is not None
        turn.say(talk.plain("already_answered" if answered else "closed"))
        return
    if lifecycle.expired(inv, turn.now):
        await turn.move(lifecycle.ran_out(inv))
        turn.say(talk.plain("closed"))
        return
    if rescore and inv.step in (Step.AWAITING_REASON, Step.AWAITING_COMMENT):
        parsed = parse_answer(text, talk.survey.scale_range, talk.locale)
        if parsed.score is not None:
            await _rescore(turn, parsed.score)
            return
    if inv.step == Step.AWAITING_SCORE:
        await _on_score(turn, text)
    elif inv.step == Step.AWAITING_REASON:
        await _on_reason(turn, text, intent)
    elif inv.step == Step.AWAITING_COMMENT:
        await _on_comment(turn, text, intent)


def _prompt(turn: Turn, step: str, score: int) -> None:
    """Ask what `step` waits for, or thank the person when it is done."""
    talk = turn.talk
    band = talk.survey.band(score)
    if step == Step.AWAITING_REASON:
        turn.say(talk.reason_prompt())
    elif step == Step.AWAITING_COMMENT:
        turn.say(talk.follow_up(band))
    else:
        turn.say(talk.thank_you(band))


async def _on_score(turn: Turn, text: str) -> None:
    inv, talk, survey = turn.invitation, turn.talk, turn.talk.survey
    parsed = parse_answer(text, survey.scale_range, talk.locale)
    if parsed.score is None:
        if inv.reprompts >= turn.max_reprompts:
            await turn.move(lifecycle.gave_up())
            turn.say(talk.plain("gave_up"))
        else:
            await turn.move(lifecycle.reprompted(inv))
            turn.say(talk.reprompt(parsed.problem))
        return
    comment = parsed.comment[:MAX_COMMENT_CHARS] if parsed.comment else None
    contact = turn.conversation.contact
    # Stored by the engine with the turn's other changes.
    turn.conversation.response = Response(
        invitation_id=inv.id,
        survey_id=turn.conversation.survey.id or 0,
        contact_id=turn.contact_id,
        channel=inv.channel,
        score=parsed.score,
        comment=comment,
        answered_at=turn.now,
        properties={**contact.properties, **inv.properties},
    )
    step = lifecycle.next_step(
        survey, parsed.score, reason_settled=False, has_comment=comment is not None
    )
    await turn.move(lifecycle.scored(step))
    _prompt(turn, step, parsed.score)


async def _rescore(turn: Turn, score: int) -> None:
    """Replace the score given a moment ago; the conversation resumes from the new band."""
    survey = turn.talk.survey
    response = turn.conversation.response
    assert response is not None  # only called after a score
    response.score = score
    if not survey.asks_reason(score):
        response.reason = None
    step = lifecycle.next_step(
        survey,
        score,
        reason_settled=response.reason is not None,
        has_comment=response.comment is not None,
    )
    await turn.move(lifecycle.rescored(step))
    _prompt(turn, step, score)


async def _on_reason(turn: Turn, text: str, intent: Intent | None) -> None:
    inv, talk = turn.invitation, turn.talk
    response = turn.conversation.response
    assert response is not None  # a reason is only asked after a score
    reason = match_reason(text, talk.reasons())
    if reason is None and intent is not Intent.SKIP:
        if inv.reprompts < turn.max_reprompts:
            await turn.move(lifecycle.reprompted(inv))
            turn.say(talk.reason_prompt(again=True))
            return
        # Words that match no reason, twice: take them as the comment rather than lose them.
        if response.comment is None:
            response.comment = text.strip()[:MAX_COMMENT_CHARS]
        await turn.move(lifecycle.completed(updated=True))
        _prompt(turn, Step.DONE, response.score)
        return
    response.reason = reason
    step = lifecycle.next_step(
        talk.survey, response.score, reason_settled=True, has_comment=response.comment is not None
    )
    await turn.move(lifecycle.reason_given(step))
    _prompt(turn, step, response.score)


async def _on_comment(turn: Turn, text: str, intent: Intent | None) -> None:
    response = turn.conversation.response
    assert response is not None  # a comment is only asked after a score
    commented = intent is not Intent.SKIP and bool(text.strip())
    if commented:
        response.comment = text.strip()[:MAX_COMMENT_CHARS]
    await turn.move(lifecycle.completed(updated=commented))
    _prompt(turn, Step.DONE, response.score)


def match_reason(text: str, reasons: list[str]) -> str | None:
    """A reason picked by its label (any case) or by its number in the list."""
    wanted = text.strip().rstrip(".").casefold()
    for reason in reasons:
        if reason.casefold() == wanted:
            return reason
    if wanted.isdigit() and 1 <= int(wanted) <= len(reasons):
        return reasons[int(wanted) - 1]
    return None
