"""WhatsApp through Twilio: session text, quick-reply buttons and approved templates, one client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from channels.base import (
    OutboundMessage,
    SendResult,
    TransientSendError,
    degrade_to_text,
)
from channels.sms import (
    SEND_TIMEOUT_SECONDS,
    TwilioConnection,
    create_message,
    mask_phone,
    twilio_failure,
)

log = logging.getLogger("channels.whatsapp")
T = TypeVar("T")

PREFIX = "whatsapp:"
NAME_PREFIX = "surveybot_"  # the friendly name of the quick-reply contents surveybot makes
# twilio/quick-reply: up to 3 buttons in a session message without approval; a button's title
# is at most 20 characters.
MAX_SESSION_BUTTONS = 3
MAX_BUTTON_TITLE = 20


def address(number: str) -> str:
    """The Twilio address of a phone number on WhatsApp: "+1415…" → "whatsapp:+1415…"."""
    return number if number.startswith(PREFIX) else PREFIX + number


def buttons_fit(message: OutboundMessage) -> bool:
    """Whether the choices fit a session quick reply: 1 to 3 buttons with short titles."""
    return 0 < len(message.choices) <= MAX_SESSION_BUTTONS and all(
        0 < len(choice.label) <= MAX_BUTTON_TITLE for choice in message.choices
    )


class WhatsAppChannel:
    """Sends WhatsApp messages with twilio's async client (held, never subclassed).

    A message carrying a `template` goes as that approved template (`ContentSid` and
    `ContentVariables`); one whose choices fit goes as a `twilio/quick-reply` content created
    once per wording and kept for the process; anything else goes as text, with the typed-answer
    hint in place of the buttons.
    """

    name = "whatsapp"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str | None = None,
        api_base: str | None = None,
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        if not from_number:
            raise ValueError("WhatsAppChannel needs a from_number")
        self._from = address(from_number)
        self._status_callback = status_callback
        self._twilio = TwilioConnection(account_sid, auth_token, api_base=api_base, timeout=timeout)
        # The account's quick replies by name → content sid (None: not read yet).
        self._quick_replies: dict[str, str] | None = None
        self._contents_lock = asyncio.Lock()

    async def start(self) -> None:
        await self._twilio.start()

    async def close(self) -> None:
        await self._twilio.close()

    async def send(self, message: OutboundMessage) -> SendResult:
        client = self._twilio.client
        if client is None:
            raise TransientSendError("the WhatsApp channel is not started")
        fields: dict[str, str]
        if message.template is not None:
            fields = {
                "content_sid": message.template.id,
                "content_variables": json.dumps(message.template.variables, ensure_ascii=False),
            }
        elif buttons_fit(message):
            fields = {"content_sid": await self._quick_reply(client, message)}
        else:
            fields = {"body": degrade_to_text(message)}
        sid = await create_message(
            client,
            to=address(message.address),
            from_=self._from,
            status_callback=self._status_callback,
            **fields,
        )
        log.info("whatsapp %s queued to %s", sid, mask_phone(message.address))
        return SendResult(provider_message_id=sid)

    async def _quick_reply(self, client: Client, message: OutboundMessage) -> str:
        """The sid of a quick-reply content with the message's text and buttons.

        Contents stay in the Twilio account, so each wording is made once ever: the account's
        own (named `surveybot_<digest of the wording>`) are read once per process, and a new
        wording is created and remembered.
        """
        actions = [{"title": c.label, "id": c.value} for c in message.choices]
        wording = json.dumps([message.text, actions], ensure_ascii=False)
        name = NAME_PREFIX + hashlib.sha256(wording.encode()).hexdigest()[:32]
        async with self._contents_lock:
            if self._quick_replies is None:
                listed = await _twilio_call(client.content.v1.contents.list_async(page_size=100))
                self._quick_replies = {
                    c.friendly_name: c.sid
                    for c in listed
                    if c.sid and c.friendly_name and c.friendly_name.startswith(NAME_PREFIX)
                }
            known = self._quick_replies.get(name)
            if known is not None:
                return known
            request = ContentList.ContentCreateRequest(
                {
                    "friendly_name": name,
                    # The language Twilio files it under; a session message needs no approval,
                    # so it does not have to match the text's.
                    "language": "en",
                    "types": {
                        "twilio/quick-reply": {"body": message.text, "actions": actions},
                        # What a device without buttons shows instead.
                        "twilio/text": {"body": degrade_to_text(message)},
                    },
                }
            )
            content = await _twilio_call(client.content.v1.contents.create_async(request))
            if not content.sid:
                raise TransientSendError("Twilio created a quick reply without a sid")
            self._quick_replies[name] = content.sid
            return content.sid


async def _twilio_call(call: Awaitable[T]) -> T:
    """A Content API call's result, or the send error its failure means."""
    try:
        return await call
    except (TwilioRestException, TwilioServiceException) as exc:
        raise twilio_failure(exc) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientSendError(f"Twilio unreachable: {type(exc).__name__}") from exc
