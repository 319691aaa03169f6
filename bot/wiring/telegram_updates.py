"""Telegram updates in, conversation turns out: /start links a chat, /stop opts out, the rest talks.

A deep link binds the first chat that uses it; another chat is refused and changes nothing.

Each handler commits its effect before returning (the webhook answers 200 only then) and returns
the follow-up work — replies and keyboard edits — for the caller to run afterwards. Every update is
stored once as an inbound message with the provider id ``u<update_id>``, so one that Telegram
delivers again is recognised and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy.exc import IntegrityError

from bot.invitations import recorder
from bot.runtime.services import Services
from channels.base import (
    ChannelError,
    InboundMessage,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
)
from channels.telegram import InvalidPayload, LinkPayloads, TelegramChannel, marked, parse_callback
from storage.models import Contact
from storage.uow import UnitOfWork
from surveys.keywords import Intent
from surveys.texts import builtin

log = logging.getLogger("bot.telegram")

Followup = Callable[[], Awaitable[None]]
CHANNEL = "telegram"
CHAT = "telegram_chat_id"  # the contact's field a chat is linked in
MAX_REPLY_WAIT = 30.0  # a rate-limited reply waits this long at most, then is dropped (logged)


def text(key: str, locale: str | None) -> str:
    return builtin(key, locale)


async def handle_update(
    services: Services, channel: TelegramChannel, update: Update
) -> Followup | None:
    """Persist what the update means; return what to send afterwards, if anything."""
    inbound_id = f"u{update.update_id}"
    if update.callback_query is not None:
        return await _on_press(services, channel, update.callback_query, inbound_id)
    message = update.message
    if message is None or message.text is None or message.chat.type != "private":
        return None  # surveys happen in private chats, in text
    chat, received = str(message.chat.id), message.date
    command, _, argument = message.text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()
    if command == "/start":
        return await _on_start(services, channel, chat, argument.strip(), inbound_id, received)
    inbound = InboundMessage(
        channel=CHANNEL,
        address=chat,
        text=message.text,
        provider_message_id=inbound_id,
        received_at=received,
    )
    if command == "/stop":
        # /stop is STOP, said with a button: the engine opts out and ends the conversation.
        reply = await services.conversation.handle(inbound, intent=Intent.OPT_OUT, source="command")
        if reply.duplicate:
            return None
        locale = reply.contact.locale if reply.contact is not None else None
        replies = reply.messages or [_message(chat, builtin("opted_out", locale))]
        return _sender(services, channel, chat, replies)
    reply = await services.conversation.handle(inbound)
    return _sender(services, channel, chat, reply.messages)


async def _on_start(
    services: Services,
    channel: TelegramChannel,
    chat: str,
    payload: str,
    inbound_id: str,
    received: datetime,
) -> Followup | None:
    if not payload:  # "Start" without a link, or "Restart bot" after unblocking it
        async with UnitOfWork(services.sessions) as uow:
            if not await _store(uow, chat, "/start", inbound_id, received):
                return None
            replies = await _opt_in(uow, chat) or _say(chat, "about")
            await uow.commit()
        return _sender(services, channel, chat, replies)
    now, refusal = services.clock(), "link_invalid"
    try:
        contact_id: int | None = LinkPayloads(services.secret).verify(payload, now=now)
    except InvalidPayload as exc:
        contact_id, refusal = None, "link_expired" if exc.expired else "link_invalid"
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get(contact_id) if contact_id is not None else None
        if not await _store(uow, chat, "/start", inbound_id, received, contact):
            return None
        if contact is None or contact.id is None:
            await uow.commit()
            return _sender(services, channel, chat, _say(chat, refusal))
        # A link binds the first chat that uses it: a forwarded link must not take the contact.
        claimed_by = await uow.link_claims.chat_of(payload)
        if claimed_by is not None and claimed_by != chat:
            await uow.commit()
            log.info("Telegram link for contact %s refused: used from another chat", contact.id)
            return _sender(services, channel, chat, _say(chat, "link_used", contact.locale))
        try:
            if claimed_by is None:
                await uow.link_claims.claim(payload, chat, contact.id, now)
            # One chat belongs to one contact: whoever held it before lets go.
            await uow.contacts.take_address(contact, CHAT, chat, now)
            # Pressing Start on a link is a fresh consent, after a /stop or a block alike.
            await recorder.opt_in(uow, contact.id, CHANNEL)
            await uow.commit()
        except IntegrityError:
            # Another chat claimed the same link at the same moment and won.
            return _sender(services, channel, chat, _say(chat, "link_used", contact.locale))
    log.info("Telegram chat linked to contact %s", contact.id)
    return _sender(services, channel, chat, _say(chat, "linked", contact.locale))


async def _on_press(
    services: Services, channel: TelegramChannel, query: CallbackQuery, inbound_id: str
) -> Followup | None:
    try:  # at once, or the button keeps spinning on the customer's phone
        await channel.answer_callback(query.id)
    except ChannelError as exc:
        log.debug("answerCallbackQuery failed: %s", exc)
    pressed = query.message if isinstance(query.message, Message) else None
    chat = str(pressed.chat.id if pressed is not None else query.from_user.id)
    parsed = parse_callback(query.data)
    if parsed is None:
        return None
    invitation_id = parsed.reference
    if invitation_id is not None and not await _belongs(services, invitation_id, chat):
        return None  # another chat's conversation (relinked since, or forged data)
    inbound = InboundMessage(
        channel=CHANNEL,
        address=chat,
        text=parsed.text,
        provider_message_id=inbound_id,
        received_at=services.clock(),
    )
    # A pressed score before the comment replaces the score instead of being the comment.
    reply = await services.conversation.handle(
        inbound, invitation_id=invitation_id, rescore=parsed.score
    )
    if reply.duplicate or reply.pending:
        return None
    send = _sender(services, channel, chat, reply.messages)

    async def followup() -> None:
        if pressed is not None and pressed.reply_markup is not None:
            # A score keyboard stays, marked, so the customer can still change their mind;
            # reasons and Skip are one-time choices and disappear.
            markup = marked(pressed.reply_markup, query.data or "") if parsed.score else None
            try:
                await channel.edit_keyboard(chat, pressed.message_id, markup)
            except ChannelError as exc:
                log.debug("editMessageReplyMarkup failed: %s", exc)
        if send is not None:
            await send()

    return followup


async def _belongs(services: Services, invitation_id: str, chat: str) -> bool:
    """Whether a button pressed in `chat` may answer the invitation: its contact's chat, and
    asked on Telegram (now, or before a reminder moved it to the next channel)."""
    async with UnitOfWork(services.read_sessions) as uow:
        invitation = await uow.invitations.get(invitation_id)
        contact = await uow.contacts.get(invitation.contact_id) if invitation else None
        asked_here = invitation is not None and (
            invitation.channel == CHANNEL or await uow.invitations.sent_on(invitation.id, CHANNEL)
        )
    return asked_here and contact is not None and contact.telegram_chat_id == chat


async def _store(
    uow: UnitOfWork,
    chat: str,
    text: str,
    inbound_id: str,
    received: datetime,
    contact: Contact | None = None,
) -> bool:
    """Record a command as an inbound message; False when this update was handled before."""
    stored = await uow.messages.add_inbound(
        channel=CHANNEL,
        address=chat,
        provider_message_id=inbound_id,
        text=text,  # never the payload: it is a credential for a while
        received_at=received,
        contact_id=contact.id if contact is not None else None,
    )
    return stored is not None


async def _opt_in(uow: UnitOfWork, chat: str) -> list[OutboundMessage]:
    """Lift the chat's contact's Telegram opt-out (the caller commits); the confirmation if any."""
    contact = await uow.contacts.by_address(CHAT, chat)
    if contact is None or contact.id is None:
        return []
    if not await recorder.opt_in(uow, contact.id, CHANNEL):
        return []
    return [_message(chat, builtin("opted_in", contact.locale))]


def _say(chat: str, key: str, locale: str | None = None) -> list[OutboundMessage]:
    return [_message(chat, text(f"telegram.{key}", locale))]


def _message(chat: str, body: str) -> OutboundMessage:
    return OutboundMessage(channel=CHANNEL, address=chat, text=body)


def _sender(
    services: Services, channel: TelegramChannel, chat: str, messages: Sequence[OutboundMessage]
) -> Followup | None:
    if not messages:
        return None

    async def send() -> None:
        for message in messages:
            if not await _send_one(services, channel, chat, message):
                return

    return send


async def _send_one(
    services: Services, channel: TelegramChannel, chat: str, message: OutboundMessage
) -> bool:
    """Send one reply (waiting out one short 429); False when the chat is gone for good."""
    try:
        try:
            await channel.send(message)
        except TransientSendError as exc:
            if exc.retry_after is None or exc.retry_after > MAX_REPLY_WAIT:
                raise
            await asyncio.sleep(exc.retry_after)
            await channel.send(message)
    except PermanentSendError as exc:
        # The answer is stored; only the reply is lost. A blocked bot suppresses the chat.
        log.warning("reply on telegram not delivered: %s", exc)
        if exc.suppress:
            await _suppress(services, chat)
            return False
    except ChannelError as exc:
        log.warning("reply on telegram not delivered: %s", exc)
    return True


async def _suppress(services: Services, chat: str) -> None:
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.by_address(CHAT, chat)
        if contact is not None and contact.id is not None:
            await uow.opt_outs.add(contact.id, CHANNEL, source="provider")
            recorder.announce_opt_out(
                uow, contact.id, CHANNEL, source="provider", now=services.clock()
            )
            await uow.commit()
