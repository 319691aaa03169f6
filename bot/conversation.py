"""The channel-agnostic conversation engine: inbound message in, messages to send out.

States: awaiting score → (awaiting reason) → awaiting comment → done. Every inbound message is
stored once (unique per channel and provider id) and the new state is committed before the
replies are returned, so a channel acknowledges only what is persisted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.rendering import Talk
from channels.base import InboundMessage, OutboundMessage
from storage.models import Contact, Invitation, InvitationStatus, Response, Step, SurveyRow
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
    """What the engine decided: messages to send, and whether the inbound was a redelivery."""

    messages: list[OutboundMessage] = field(default_factory=list)
    duplicate: bool = False
    invitation_id: str | None = None


@dataclass(slots=True)
class _Turn:
    uow: UnitOfWork
    invitation: Invitation
    survey_row: SurveyRow
    contact: Contact
    talk: Talk
    now: datetime
    out: list[OutboundMessage] = field(default_factory=list)


class ConversationEngine:
    """Runs every survey conversation, whatever the channel."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        max_reprompts: int = 2,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._max_reprompts = max_reprompts

    async def handle(self, inbound: InboundMessage, *, invitation_id: str | None = None) -> Reply:
        """Store the message, advance the conversation, commit, and say what to send back.

        `invitation_id` names the conversation when the channel knows it (the web chat link);
        otherwise the contact is found by the channel address and their newest conversation
        on that channel is used.
        """
        async with UnitOfWork(self._sessions) as uow:
            message_id = await uow.messages.add_inbound(
                channel=inbound.channel,
                address=inbound.address,
                provider_message_id=inbound.provider_message_id,
                text=inbound.text[:MAX_COMMENT_CHARS],
                received_at=inbound.received_at,
            )
            if message_id is None:
                log.info("duplicate inbound on %s ignored", inbound.channel)
                return Reply(duplicate=True, invitation_id=invitation_id)
            found = await self._find(uow, inbound, invitation_id)
            if found is None:
                await uow.commit()
                return Reply(invitation_id=invitation_id)
            invitation, survey_row, contact = found
            talk = Talk.of(to_domain(survey_row), contact, invitation, inbound.address)
            turn = _Turn(uow, invitation, survey_row, contact, talk, self._clock())
            await self._advance(turn, inbound.text)
            await uow.messages.link_inbound(message_id, invitation.id, contact.id)
            for out in turn.out:
                await uow.messages.add_outbound(
                    channel=inbound.channel,
                    address=inbound.address,
                    text=out.text,
                    invitation_id=invitation.id,
                    contact_id=contact.id,
                    created_at=turn.now,
                )
            invitation.updated_at = turn.now
            await uow.commit()
            return Reply(messages=turn.out, invitation_id=invitation.id)

    async def _find(
        self, uow: UnitOfWork, inbound: InboundMessage, invitation_id: str | None
    ) -> tuple[Invitation, SurveyRow, Contact] | None:
        if invitation_id is not None:
            return await uow.invitations.with_context(invitation_id, lock=True)
        contact = await uow.contacts.by_address(inbound.channel, inbound.address)
        if contact is None or contact.id is None:
            return None
        latest = await uow.invitations.latest_open(contact.id, inbound.channel)
        if latest is None:
            return None
        return await uow.invitations.with_context(latest.id, lock=True)

    async def _advance(self, turn: _Turn, text: str) -> None:
        inv, talk = turn.invitation, turn.talk
        intent = detect_intent(text, talk.locale)
        if intent is Intent.OPT_OUT:
            await self._opt_out(turn)
            return
        opted_out = await turn.uow.opt_outs.is_opted_out(turn.contact.id or 0, inv.channel)
        if intent is Intent.OPT_IN and opted_out:
            await turn.uow.opt_outs.remove(turn.contact.id or 0, inv.channel)
            turn.out.append(talk.plain("opted_in"))
            return
        if intent is Intent.HELP:
            turn.out.append(talk.plain("help"))
            return
        if inv.status in (Status.SCHEDULED, Status.SENDING):
            return  # not asked yet: nothing to answer
        if opted_out or inv.status not in Status.OPEN or inv.step == Step.DONE:
            await self._finished(turn)
            return
        if inv.expires_at is not None and turn.now >= inv.expires_at:
            response = await turn.uow.responses.for_invitation(inv.id)
            inv.status = Status.COMPLETED if response else Status.EXPIRED
            inv.step = Step.DONE
            turn.out.append(talk.plain("closed"))
            return
        if inv.step == Step.AWAITING_SCORE:
            await self._on_score(turn, text)
        elif inv.step == Step.AWAITING_REASON:
            await self._on_reason(turn, text, intent)
        elif inv.step == Step.AWAITING_COMMENT:
            await self._on_comment(turn, text, intent)

    async def _finished(self, turn: _Turn) -> None:
        response = await turn.uow.responses.for_invitation(turn.invitation.id)
        turn.out.append(turn.talk.plain("already_answered" if response else "closed"))

    async def _opt_out(self, turn: _Turn) -> None:
        inv = turn.invitation
        await turn.uow.opt_outs.add(turn.contact.id or 0, inv.channel, source="conversation")
        if inv.status in Status.OPEN and inv.step != Step.DONE:
            inv.step = Step.DONE
            inv.status = Status.COMPLETED if inv.status == Status.ANSWERED else Status.CLOSED
        log.info("contact %s opted out of %s", turn.contact.id, inv.channel)
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
        await turn.uow.responses.add(
            Response(
                invitation_id=inv.id,
                survey_id=turn.survey_row.id or 0,
                contact_id=turn.contact.id or 0,
                channel=inv.channel,
                score=parsed.score,
                comment=comment,
                answered_at=turn.now,
                properties={**turn.contact.properties, **inv.properties},
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

    async def _on_reason(self, turn: _Turn, text: str, intent: Intent | None) -> None:
        inv, talk = turn.invitation, turn.talk
        response = await turn.uow.responses.for_invitation(inv.id)
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
        response = await turn.uow.responses.for_invitation(turn.invitation.id)
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
