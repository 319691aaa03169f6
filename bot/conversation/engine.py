"""The channel-agnostic conversation engine: inbound message in, messages to send out.

States: awaiting score → (awaiting reason) → awaiting comment → done. Every inbound message is
stored once (unique per channel and provider id) and the new state is committed before the
replies are returned, so a channel acknowledges only what is persisted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.talk import Talk
from channels.base import ChannelInfo, InboundMessage, OutboundMessage
from storage.models import Invitation, InvitationStatus, Message, Response, Step
from storage.repositories.invitations import Conversation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.keywords import Intent, detect_intent
from surveys.parsing import parse_answer

log = logging.getLogger("bot.conversation")

Status = InvitationStatus
Clock = Callable[[], datetime]
MAX_COMMENT_CHARS = 4000


@dataclass(slots=True)
class Reply:
    """What the engine decided: messages to send, and whether the inbound was a redelivery.

    `pending` means the conversation has not been asked yet (nothing was stored);
    `conversation` and `transcript` describe the state after the turn when asked for.
    """

    messages: list[OutboundMessage] = field(default_factory=list)
    duplicate: bool = False
    pending: bool = False
    invitation_id: str | None = None
    conversation: Conversation | None = None
    transcript: Sequence[Message] | None = None


@dataclass(slots=True)
class _Turn:
    uow: UnitOfWork
    conversation: Conversation
    talk: Talk
    now: datetime
    out: list[OutboundMessage] = field(default_factory=list)

    @property
    def invitation(self) -> Invitation:
        return self.conversation.invitation

    @property
    def contact_id(self) -> int:
        return self.conversation.contact.id or 0


class ConversationEngine:
    """Runs every survey conversation, whatever the channel."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        catalog: Sequence[ChannelInfo],
        max_reprompts: int = 2,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._infos = {info.name: info for info in catalog}
        self._max_reprompts = max_reprompts

    async def handle(
        self,
        inbound: InboundMessage,
        *,
        invitation_id: str | None = None,
        include_transcript: bool = False,
        rescore: bool = False,
    ) -> Reply:
        """Store the message, advance the conversation, commit, and say what to send back.

        `invitation_id` names the conversation when the channel knows it (the web chat link);
        otherwise the contact is found by the channel address and their newest conversation
        on that channel is used. `rescore` marks a pressed score (a button or an emailed link):
        pressed before the comment is given, it replaces the score instead of being the comment.
        Everything happens in one transaction.
        """
        async with UnitOfWork(self._sessions) as uow:
            conversation = await self._find(uow, inbound, invitation_id)
            invitation = conversation.invitation if conversation else None
            if invitation is not None and invitation.status in (Status.SCHEDULED, Status.SENDING):
                return Reply(pending=True, invitation_id=invitation.id)
            message_id = await uow.messages.add_inbound(
                channel=inbound.channel,
                address=inbound.address,
                provider_message_id=inbound.provider_message_id,
                text=inbound.text[:MAX_COMMENT_CHARS],
                received_at=inbound.received_at,
                invitation_id=invitation.id if invitation else None,
                contact_id=conversation.contact.id if conversation else None,
            )
            if message_id is None:
                log.info("duplicate inbound on %s ignored", inbound.channel)
                return Reply(duplicate=True, invitation_id=invitation_id)
            if conversation is None or invitation is None:
                await uow.commit()
                return Reply(invitation_id=invitation_id)
            talk = Talk.of(
                to_domain(conversation.survey), conversation.contact, invitation, inbound.address
            )
            turn = _Turn(uow, conversation, talk, self._clock())
            await self._advance(turn, inbound.text, rescore=rescore)
            for out in turn.out:
                await uow.messages.add_outbound(
                    channel=inbound.channel,
                    address=inbound.address,
                    text=out.text,
                    invitation_id=invitation.id,
                    contact_id=conversation.contact.id,
                    created_at=turn.now,
                )
            invitation.updated_at = turn.now
            await uow.session.flush()
            transcript = (
                await uow.messages.transcript(invitation.id) if include_transcript else None
            )
            await uow.commit()
            return Reply(
                messages=turn.out,
                invitation_id=invitation.id,
                conversation=conversation,
                transcript=transcript,
            )

    async def _find(
        self, uow: UnitOfWork, inbound: InboundMessage, invitation_id: str | None
    ) -> Conversation | None:
        if invitation_id is not None:
            return await uow.invitations.conversation(invitation_id, lock=True)
        info = self._infos.get(inbound.channel)
        if info is None or info.address is None:
            return None  # a link-only channel names its conversation (invitation_id)
        contact = await uow.contacts.by_address(info.address, inbound.address)
        if contact is None or contact.id is None:
            return None
        latest = await uow.invitations.latest_open(contact.id, inbound.channel)
        if latest is None:
            return None
        return await uow.invitations.conversation(latest.id, lock=True)

    async def _advance(self, turn: _Turn, text: str, *, rescore: bool = False) -> None:
        inv, talk = turn.invitation, turn.talk
        intent = detect_intent(text, talk.locale)
        if intent is Intent.OPT_OUT:
            await self._opt_out(turn)
            return
        opted_out = turn.conversation.opted_out
        if intent is Intent.OPT_IN and opted_out:
            await turn.uow.opt_outs.remove(turn.contact_id, inv.channel)
            turn.conversation.opted_out = False
            turn.out.append(talk.plain("opted_in"))
            return
        if intent is Intent.HELP:
            turn.out.append(talk.plain("help"))
            return
        if opted_out or inv.status not in Status.OPEN or inv.step == Step.DONE:
            await self._finished(turn)
            return
        if inv.expires_at is not None and turn.now >= inv.expires_at:
            inv.status = Status.COMPLETED if turn.conversation.response else Status.EXPIRED
            inv.step = Step.DONE
            turn.out.append(talk.plain("closed"))
            return
        if rescore and inv.step in (Step.AWAITING_REASON, Step.AWAITING_COMMENT):
            parsed = parse_answer(text, talk.survey.scale_range, talk.locale)
            if parsed.score is not None:
                self._rescore(turn, parsed.score)
                return
        if inv.step == Step.AWAITING_SCORE:
            await self._on_score(turn, text)
        elif inv.step == Step.AWAITING_REASON:
            await self._on_reason(turn, text, intent)
        elif inv.step == Step.AWAITING_COMMENT:
            await self._on_comment(turn, text, intent)

    async def _finished(self, turn: _Turn) -> None:
        answered = turn.conversation.response is not None
        turn.out.append(turn.talk.plain("already_answered" if answered else "closed"))

    async def _opt_out(self, turn: _Turn) -> None:
        inv = turn.invitation
        await turn.uow.opt_outs.add(turn.contact_id, inv.channel, source="conversation")
        turn.conversation.opted_out = True
        if inv.status in Status.OPEN and inv.step != Step.DONE:
            inv.step = Step.DONE
            inv.status = Status.COMPLETED if inv.status == Status.ANSWERED else Status.CLOSED
        log.info("contact %s opted out of %s", turn.contact_id, inv.channel)
        turn.out.append(turn.talk.plain("opted_out"))

    async def _on_score(self, turn: _Turn, text: str) -> None:
        inv, talk, survey = turn.invitation, turn.talk, turn.talk.survey
        parsed = parse_answer(text, survey.scale_range, talk.locale)
        if parsed.score is None:
            if inv.reprompts >= self._max_reprompts:
                inv.status, inv.step = Status.CLOSED, Step.DONE
                turn.out.append(talk.plain("gave_up"))
            else:
                inv.reprompts += 1
                turn.out.append(talk.reprompt(parsed.problem))
            return
        comment = parsed.comment[:MAX_COMMENT_CHARS] if parsed.comment else None
        contact = turn.conversation.contact
        turn.conversation.response = await turn.uow.responses.add(
            Response(
                invitation_id=inv.id,
                survey_id=turn.conversation.survey.id or 0,
                contact_id=turn.contact_id,
                channel=inv.channel,
                score=parsed.score,
                comment=comment,
                answered_at=turn.now,
                properties={**contact.properties, **inv.properties},
            )
        )
        inv.status, inv.reprompts = Status.ANSWERED, 0
        band = survey.band(parsed.score)
        if survey.asks_reason(parsed.score):
            inv.step = Step.AWAITING_REASON
            turn.out.append(talk.reason_prompt())
        elif comment is None and survey.ask_comment:
            inv.step = Step.AWAITING_COMMENT
            turn.out.append(talk.follow_up(band))
        else:
            self._complete(turn, band)

    def _rescore(self, turn: _Turn, score: int) -> None:
        """Replace the score given a moment ago; the conversation resumes from the new band."""
        inv, talk, survey = turn.invitation, turn.talk, turn.talk.survey
        response = turn.conversation.response
        assert response is not None  # only called after a score
        response.score = score
        inv.reprompts = 0
        if not survey.asks_reason(score):
            response.reason = None
        band = survey.band(score)
        if survey.asks_reason(score) and response.reason is None:
            inv.step = Step.AWAITING_REASON
            turn.out.append(talk.reason_prompt())
        elif response.comment is None and survey.ask_comment:
            inv.step = Step.AWAITING_COMMENT
            turn.out.append(talk.follow_up(band))
        else:
            self._complete(turn, band)

    async def _on_reason(self, turn: _Turn, text: str, intent: Intent | None) -> None:
        inv, talk = turn.invitation, turn.talk
        response = turn.conversation.response
        assert response is not None  # a reason is only asked after a score
        band = talk.survey.band(response.score)
        reason = _match_reason(text, talk.reasons())
        if reason is None and intent is not Intent.SKIP:
            if inv.reprompts < self._max_reprompts:
                inv.reprompts += 1
                turn.out.append(talk.reason_prompt(again=True))
                return
            # Words that match no reason, twice: take them as the comment rather than lose them.
            if response.comment is None:
                response.comment = text.strip()[:MAX_COMMENT_CHARS]
            self._complete(turn, band)
            return
        response.reason = reason
        inv.reprompts = 0
        if response.comment is None and talk.survey.ask_comment:
            inv.step = Step.AWAITING_COMMENT
            turn.out.append(talk.follow_up(band))
        else:
            self._complete(turn, band)

    async def _on_comment(self, turn: _Turn, text: str, intent: Intent | None) -> None:
        response = turn.conversation.response
        assert response is not None  # a comment is only asked after a score
        if intent is not Intent.SKIP and text.strip():
            response.comment = text.strip()[:MAX_COMMENT_CHARS]
        self._complete(turn, turn.talk.survey.band(response.score))

    def _complete(self, turn: _Turn, band: str) -> None:
        turn.invitation.status, turn.invitation.step = Status.COMPLETED, Step.DONE
        turn.out.append(turn.talk.thank_you(band))  # type: ignore[arg-type]


def _match_reason(text: str, reasons: list[str]) -> str | None:
    """A reason picked by its label (any case) or by its number in the list."""
    wanted = text.strip().rstrip(".").casefold()
    for reason in reasons:
        if reason.casefold() == wanted:
            return reason
    if wanted.isdigit() and 1 <= int(wanted) <= len(reasons):
        return reasons[int(wanted) - 1]
    return None
