"""The WhatsApp channel in the service: Twilio's signed webhooks, templates outside the session.

Inbound messages and status callbacks are Twilio's SMS webhooks with `whatsapp:` addresses, so
the signature check and the forward-only statuses are the SMS wiring's. Replies go through the
REST API after the webhook is answered (not as TwiML): a reply may carry quick-reply buttons,
which TwiML cannot, and every reply gets its status callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from bot.conversation.talk import Talk
from bot.errors import Unprocessable
from bot.invitations import recorder
from bot.runtime.services import Services, ServicesDep
from bot.runtime.settings import Settings
from bot.wiring.base import Wiring
from bot.wiring.sms import (
    error_code,
    missing_field,
    record_status,
    signed_form,
    status_callback_url,
    twilio_account,
    twiml,
)
from channels.base import (
    Channel,
    ChannelError,
    ChannelInfo,
    InboundMessage,
    OutboundMessage,
    PermanentSendError,
    Template,
)
from storage.uow import UnitOfWork
from surveys.texts import render

log = logging.getLogger("bot.whatsapp")

INFO = ChannelInfo(
    name="whatsapp",
    address="phone",
    send_rate=20,  # well inside Twilio's 80 messages/s per WhatsApp sender
    quiet_hours=("09:00", "20:00"),  # as SMS: US state rules cover any text to a phone
    max_text=1600,  # Twilio refuses longer bodies
    buttons=True,  # quick replies where they fit (channels.whatsapp), else the typed-answer hint
    links=True,
    session_hours=24,  # WhatsApp's customer-service window
)
CHANNEL = INFO.name
PREFIX = "whatsapp:"
INBOUND_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/whatsapp/status"


class WhatsAppWiring(Wiring):
    """WhatsApp through Twilio: on when the account SID, auth token and WhatsApp sender are set."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        return twilio_account(settings) and bool(settings.whatsapp_from)

    def build(self, settings: Settings, *, secret: str) -> Channel:
        if not self.configured(settings) or settings.twilio_auth_token is None:
            raise ValueError(
                "WhatsApp needs SURVEYBOT_TWILIO_ACCOUNT_SID, SURVEYBOT_TWILIO_AUTH_TOKEN and "
                "SURVEYBOT_WHATSAPP_FROM"
            )
        callback = status_callback_url(settings, STATUS_PATH, INBOUND_PATH)
        from channels.whatsapp import WhatsAppChannel  # twilio's client: only when it is on

        return WhatsAppChannel(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=settings.whatsapp_from or "",
            status_callback=callback,
            api_base=settings.twilio_api_base,
        )

    def outside_session(self, message: OutboundMessage, talk: Talk) -> OutboundMessage:
        """The question as the survey's approved template in the reader's locale (else the
        survey's default locale); without one the question cannot go, and the send fails."""
        survey = talk.survey
        options = survey.whatsapp
        template = options.template_for(talk.locale, survey.default_locale) if options else None
        if template is None:
            raise PermanentSendError(
                "no WhatsApp template for locale "
                f"{talk.locale or survey.default_locale} in survey {survey.key}, and the"
                " customer has not written on WhatsApp in the last 24 hours"
            )
        variables = {name: render(text, talk.values) for name, text in template.variables.items()}
        return replace(message, template=Template(template.content_sid, variables))

    def router(self) -> APIRouter:
        return build_router(self)


WIRING = WhatsAppWiring()


def build_router(wiring: WhatsAppWiring) -> APIRouter:
    router = APIRouter(prefix=INBOUND_PATH, include_in_schema=False)

    @router.post("")
    async def inbound_whatsapp(request: Request, services: ServicesDep) -> Response:
        """A WhatsApp message (typed, or a tapped quick reply): one turn; replies sent after."""
        form = await signed_form(request, services.settings, wiring)
        sid = form.get("MessageSid")
        sender = (form.get("From") or "").strip()
        if not sid or not sender:
            raise missing_field("MessageSid" if not sid else "From")
        number = sender.removeprefix(PREFIX).strip()
        if number == sender or not number:
            raise Unprocessable("From is not a WhatsApp address (whatsapp:+…)", field="From")
        # A tapped button sends its id (the score, the reason) as ButtonPayload; its title is
        # ButtonText and Body. The id is what the button means, whatever the title's language.
        pressed = (form.get("ButtonPayload") or "").strip()
        text = pressed or form.get("Body") or ""
        inbound = InboundMessage(
            channel=CHANNEL,
            address=number,
            text=text,
            provider_message_id=sid,
            received_at=services.clock(),
        )
        # A score button of the question tapped again later replaces the score (as on Telegram)
        # instead of becoming the comment.
        reply = await services.conversation.handle(inbound, rescore=pressed.isdigit())
        answer = twiml([])  # nothing in the answer itself: the replies follow through the API
        channel = services.channels.get(CHANNEL)
        if reply.messages and channel is not None:
            answer.background = BackgroundTask(send_replies, services, channel, reply.messages)
        return answer

    @router.post("/status")
    async def delivery_status(request: Request, services: ServicesDep) -> Response:
        """Twilio's status callback for a WhatsApp message we sent (read too); 204."""
        form = await signed_form(request, services.settings, wiring)
        sid = form.get("MessageSid")
        status = (form.get("MessageStatus") or "").strip().lower()
        if not sid or not status:
            raise missing_field("MessageSid" if not sid else "MessageStatus")
        await record_status(
            services,
            sid,
            status,
            error_code(form.get("ErrorCode")),
            channel=CHANNEL,
            label="WhatsApp",
        )
        return Response(status_code=204)

    return router


async def send_replies(
    services: Services, channel: Channel, messages: Sequence[OutboundMessage]
) -> None:
    """Send a turn's replies in order; the answer is stored already, so a failure loses only
    the reply (logged), and a number the provider calls gone is suppressed."""
    for message in messages:
        try:
            await channel.send(message)
        except ChannelError as exc:
            log.warning("reply on whatsapp not delivered: %s", exc)
            if isinstance(exc, PermanentSendError) and exc.suppress:
                await _suppress(services, message.address)
            return


async def _suppress(services: Services, number: str) -> None:
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.by_address(INFO.address or "phone", number)
        if contact is not None and contact.id is not None:
            await uow.opt_outs.add(contact.id, CHANNEL, source="provider")
            recorder.announce_opt_out(
                uow, contact.id, CHANNEL, source="provider", now=services.clock()
            )
            await uow.commit()
