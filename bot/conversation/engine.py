"""The channel-agnostic conversation engine: inbound message in, messages to send out.

States: awaiting score → (awaiting reason) → awaiting comment → done. Every inbound message is
stored once (unique per channel and provider id) and the new state is committed before the
replies are returned, so a channel acknowledges only what is persisted. STOP, START and HELP are
handled here for every channel: inside a conversation (bot.conversation.turns) and, for a known
contact, outside one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.text import strip_unstorable
from bot.conversation.talk import Talk
from bot.conversation.turns import MAX_COMMENT_CHARS, Turn, take
from bot.invitations import lifecycle, recorder
from channels.base import ChannelInfo, InboundMessage, OutboundMessage
from storage.models import Contact, Message
from storage.repositories.invitations import Conversation
from storage.repositories.rows import values_of
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.keywords import Intent, detect_intent
from surveys.texts import builtin

log = logging.getLogger("bot.conversation")

Clock = Callable[[], datetime]


def _cleaned(inbound: InboundMessage) -> InboundMessage:
    """The message without NUL characters and lone surrogates, which no database stores.

    A customer's answer is kept without them rather than refused: a web chat, an SMS gateway
    or a Telegram client may pass them on from a paste, and the answer must not be lost.
    """
    address, text = strip_unstorable(inbound.address), strip_unstorable(inbound.text)
    provider_id = strip_unstorable(inbound.provider_message_id)
    if (address, text, provider_id) == (inbound.address, inbound.text, inbound.provider_message_id):
        return inbound
    return replace(inbound, address=address, text=text, provider_message_id=provider_id)


@dataclass(slots=True)
class Reply:
    """What the engine decided: messages to send, and whether the inbound was a redelivery.

    `pending` means the conversation has not been asked yet (nothing was stored);
    `conversation` and `transcript` describe the state after the turn when asked for;
    `contact` is the contact the message came from, when known.
    """

    messages: list[OutboundMessage] = field(default_factory=list)
    duplicate: bool = False
    pending: bool = False
    invitation_id: str | None = None
    conversation: Conversation | None = None
    transcript: Sequence[Message] | None = None
    contact: Contact | None = None


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
        intent: Intent | None = None,
        source: str | None = None,
    ) -> Reply:
        """Store the message, advance the conversation, commit, and say what to send back.

        `invitation_id` names the conversation when the channel knows it (the web chat link);
        otherwise the contact is found by the channel address and their newest conversation
        on that channel is used. `rescore` marks a pressed score (a button or an emailed link):
        pressed before the comment is given, it replaces the score instead of being the comment.
        `intent` is what a channel's own command means (Telegram's /stop) and `source` what an
        opt-out it makes is recorded as. Everything happens in one transaction.
        """
        inbound = _cleaned(inbound)
        async with UnitOfWork(self._sessions) as uow:
            contact, conversation = await self._find(uow, inbound, invitation_id)
            invitation = conversation.invitation if conversation else None
            if invitation is not None and lifecycle.awaiting_send(invitation.status):
                return Reply(pending=True, invitation_id=invitation.id)
            if conversation is None or invitation is None:
                message_id = await uow.messages.add_inbound(
                    channel=inbound.channel,
                    address=inbound.address,
                    provider_message_id=inbound.provider_message_id,
                    text=inbound.text[:MAX_COMMENT_CHARS],
                    received_at=inbound.received_at,
                    contact_id=contact.id if contact else None,
                )
                if message_id is None:
                    log.info("duplicate inbound on %s ignored", inbound.channel)
                    return Reply(duplicate=True, invitation_id=invitation_id, contact=contact)
                replies = await self._outside(uow, contact, inbound, intent, source or "keyword")
                await uow.commit()
                return Reply(messages=replies, invitation_id=invitation_id, contact=contact)
            reply = await self._turn(
                uow, conversation, inbound, rescore=rescore, intent=intent, source=source
            )
            if reply is None:  # a redelivery: what the turn wrote is rolled back
                log.info("duplicate inbound on %s ignored", inbound.channel)
                return Reply(duplicate=True, invitation_id=invitation_id, contact=contact)
            if include_transcript:
                reply.transcript = await uow.messages.transcript(invitation.id)
            await uow.commit()
            return reply

    async def _turn(
        self,
        uow: UnitOfWork,
        conversation: Conversation,
        inbound: InboundMessage,
        *,
        rescore: bool,
        intent: Intent | None,
        source: str | None,
    ) -> Reply | None:
        """Take the turn, then store the message, what the turn says back and what it changed
        (the caller commits); None, and nothing to commit, when the message was stored before (a
        redelivery).

        The turn is taken before the message is stored so that everything is written at once:
        one statement on PostgreSQL (`InvitationRepository.write_turn`). The conversation's rows
        are detached, so no flush of the session writes them again.
        """
        invitation = conversation.invitation
        response = conversation.response
        seen = (values_of(invitation), values_of(response) if response is not None else None)
        talk = Talk.of(
            to_domain(conversation.survey),
            conversation.contact,
            invitation,
            inbound.address,
            info=self._infos.get(inbound.channel),
        )
        info = self._infos.get(inbound.channel)
        via = inbound.channel if info is not None and info.address is not None else None
        turn = Turn(uow, conversation, talk, self._clock(), self._max_reprompts, via=via)
        await take(
            turn, inbound.text, rescore=rescore, intent=intent, source=source or "conversation"
        )
        received = {
            "channel": inbound.channel,
            "direction": "in",
            "address": inbound.address,
            "provider_message_id": inbound.provider_message_id,
            "text": inbound.text[:MAX_COMMENT_CHARS],
            "created_at": inbound.received_at,
            "invitation_id": invitation.id,
            "contact_id": conversation.contact.id,
        }
        sent = {"direction": "out", "provider_message_id": None, "created_at": turn.now}
        replies = [{**received, **sent, "text": out.text} for out in turn.out]
        invitation.updated_at = turn.now
        # The turn's events go in the same statement as its rows (one round trip on PostgreSQL).
        events = [event.row() for event in uow.take_announced()]
        if not await uow.invitations.write_turn([received, *replies], conversation, seen, events):
            return None
        return Reply(
            messages=turn.out,
            invitation_id=invitation.id,
            conversation=conversation,
            contact=conversation.contact,
        )

    async def _find(
        self, uow: UnitOfWork, inbound: InboundMessage, invitation_id: str | None
    ) -> tuple[Contact | None, Conversation | None]:
        if invitation_id is not None:
            conversation = await uow.invitations.conversation(
                invitation_id, lock=True, detached=True
            )
            return (conversation.contact if conversation else None), conversation
        info = self._infos.get(inbound.channel)
        if info is None or info.address is None:
            return None, None  # a link-only channel names its conversation (invitation_id)
        conversation = await uow.invitations.conversation_at(
            info.address, inbound.address, inbound.channel, lock=True, detached=True
        )
        if conversation is not None and lifecycle.in_conversation(conversation.invitation):
            return conversation.contact, conversation
        contact = conversation.contact if conversation is not None else None
        if contact is None:
            contact = await uow.contacts.by_address(info.address, inbound.address)
        if contact is None or contact.id is None:
            return None, conversation
        # A conversation that went out here and moved on to the next channel (a reminder there)
        # still takes its answer from here: never two live conversations for one invitation.
        moved = await uow.invitations.moved_from(contact.id, inbound.channel)
        if moved is not None:
            found = await uow.invitations.conversation(moved, lock=True, detached=True)
            if found is not None:
                return found.contact, found
        return contact, conversation

    async def _outside(
        self,
        uow: UnitOfWork,
        contact: Contact | None,
        inbound: InboundMessage,
        intent: Intent | None,
        source: str,
    ) -> list[OutboundMessage]:
        """STOP, START and HELP from a known contact with no conversation on the channel.

        Unknown addresses get nothing. (Carriers act on SMS keywords themselves as well; this
        keeps surveybot's own opt-out record in step with them.)
        """
        if contact is None or contact.id is None:
            return []
        intent = intent or detect_intent(inbound.text, contact.locale)
        if intent is Intent.OPT_OUT:
            await recorder.opt_out(
                uow, contact.id, inbound.channel, source=source, now=self._clock()
            )
            key = "opted_out"
        elif intent is Intent.OPT_IN and await recorder.opt_in(uow, contact.id, inbound.channel):
            key = "opted_in"
        elif intent is Intent.HELP:
            key = "help"
        else:
            return []
        log.info("keyword from contact %s outside a conversation: %s", contact.id, key)
        text = builtin(key, contact.locale)
        return [OutboundMessage(channel=inbound.channel, address=inbound.address, text=text)]
