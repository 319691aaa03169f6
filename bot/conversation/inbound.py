"""Hand an inbound message to the engine, then answer through the channel it came from."""

from __future__ import annotations

import logging

from bot.conversation.engine import Reply
from bot.runtime.services import Services
from channels.base import ChannelError, InboundMessage

log = logging.getLogger("bot.inbound")


async def receive(services: Services, inbound: InboundMessage, *, reply: bool = True) -> Reply:
    """Process one message (stored and committed first); with `reply`, send the answers.

    Channels that answer in the HTTP response itself (TwiML) pass reply=False and render
    `Reply.messages` themselves.
    """
    result = await services.conversation.handle(inbound)
    if not reply or not result.messages:
        return result
    channel = services.channels.get(inbound.channel)
    if channel is None:
        return result
    for message in result.messages:
        try:
            await channel.send(message)
        except ChannelError as exc:
            # The answer is stored; a lost reply is logged, never a lost answer.
            log.warning("reply on %s not delivered: %s", inbound.channel, exc)
    return result
