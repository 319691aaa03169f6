"""The SMS channel in the service: Twilio's signed webhooks, TwiML replies and status callbacks.

Replies go back as TwiML in the webhook's own response rather than through the REST API: the
answer is committed before the response is written, Twilio sends it from the number the
customer wrote to, and no second request (nor its failure modes) is needed. The webhooks only
do database work, well inside Twilio's 15 s.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import MultiDict
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.contacts.text import strip_unstorable
from bot.errors import Forbidden, NotFound, Unprocessable
from bot.invitations import fallback as fb
from bot.invitations import lifecycle, recorder
from bot.invitations.fallback import Failure, Fallback
from bot.invitations.lifecycle import Move
from bot.runtime.services import Services, ServicesDep
from bot.runtime.settings import Settings
from bot.wiring.base import ChannelWiring, Wiring
from channels.base import Channel, ChannelInfo, InboundMessage, degrade_to_text
from channels.sms_codes import suppresses
from storage.models import Invitation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.sms")

INFO = ChannelInfo(
    name="sms",
    address="phone",
    send_rate=1,  # about one segment per second from a US long code
    quiet_hours=("09:00", "20:00"),  # the strictest US window (CT; FL, OK, MD, MS, NJ end at 20)
    max_text=1600,  # Twilio refuses longer bodies
    buttons=False,
    links=True,
)
CHANNEL = INFO.name
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
# Terminal delivery failures; they also fail an invitation still waiting for its answer.
FAILED_STATUSES = frozenset({"undelivered", "failed"})
# How far along each delivery status is: a callback only ever moves the status to a later one.
STATUS_RANK = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 5,
    "failed": 5,
}


class SmsWiring(Wiring):
    """Twilio SMS: on when the account SID, auth token and a sender are set."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        return twilio_account(settings) and bool(
            settings.twilio_from_number or settings.twilio_messaging_service_sid
        )

    def build(self, settings: Settings, *, secret: str) -> Channel:
        if not self.configured(settings) or settings.twilio_auth_token is None:
            raise ValueError(
                "SMS needs SURVEYBOT_TWILIO_ACCOUNT_SID, SURVEYBOT_TWILIO_AUTH_TOKEN and "
                "SURVEYBOT_TWILIO_FROM_NUMBER or SURVEYBOT_TWILIO_MESSAGING_SERVICE_SID"
            )
        callback = status_callback_url(settings, STATUS_PATH, INBOUND_PATH)
        # twilio's REST client brings aiohttp (a quarter of a second): loaded only when SMS is on.
        from channels.sms import SmsChannel

        return SmsChannel(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=callback,
            api_base=settings.twilio_api_base,
        )

    def router(self) -> APIRouter:
        return build_router(self)


WIRING = SmsWiring()


def twilio_account(settings: Settings) -> bool:
    """Whether the Twilio account SID and auth token are set (SMS and WhatsApp need both)."""
    token = settings.twilio_auth_token
    return bool(settings.twilio_account_sid and token is not None and token.get_secret_value())


def status_callback_url(settings: Settings, path: str, inbound_path: str) -> str | None:
    """The status callback URL to ask Twilio for at `path`; None, with a warning, without a
    public URL (Twilio refuses callback URLs it cannot reach)."""
    if not settings.public_url:
        log.warning(
            "SURVEYBOT_PUBLIC_URL is not set: Twilio cannot reach %s, and no delivery "
            "status callbacks are requested",
            inbound_path,
        )
        return None
    return f"{settings.public_url}{path}"


def build_router(wiring: SmsWiring) -> APIRouter:
    router = APIRouter(prefix="/webhooks/twilio", include_in_schema=False)

    @router.post("/sms")
    async def inbound_sms(request: Request, services: ServicesDep) -> Response:
        """A text from a customer: one conversation turn, answered as TwiML."""
        form = await signed_form(request, services.settings, wiring)
        sid = form.get("MessageSid") or form.get("SmsMessageSid")
        sender = (form.get("From") or "").strip()
        if not sid or not sender:
            raise missing_field("MessageSid" if not sid else "From")
        inbound = InboundMessage(
            channel=CHANNEL,
            address=sender,
            text=form.get("Body") or "",
            provider_message_id=sid,
            received_at=services.clock(),
        )
        reply = await services.conversation.handle(inbound)
        return twiml([degrade_to_text(message) for message in reply.messages])

    @router.post("/status")
    async def delivery_status(request: Request, services: ServicesDep) -> Response:
        """Twilio's status callback for a message we sent; acknowledged with 204."""
        form = await signed_form(request, services.settings, wiring)
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if not sid or not status:
            raise missing_field("MessageSid" if not sid else "MessageStatus")
        await record_status(services, sid, status, error_code(form.get("ErrorCode")))
        return Response(status_code=204)

    return router


async def signed_form(
    request: Request, settings: Settings, wiring: ChannelWiring
) -> dict[str, str]:
    """A Twilio webhook's form fields (SMS or WhatsApp), once its signature checks out (else 404
    while `wiring`'s channel is off, 403)."""
    if not wiring.configured(settings) or settings.twilio_auth_token is None:
        raise NotFound(f"the {wiring.name} channel is not configured")
    body = (await request.body()).decode("utf-8", errors="replace")
    pairs = parse_qsl(body, keep_blank_values=True)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not signature or not validator.validate(
        public_request_url(settings, request), MultiDict(pairs), signature
    ):
        log.warning("twilio webhook %s refused: missing or invalid signature", request.url.path)
        raise Forbidden("missing or invalid X-Twilio-Signature")
    # Signed as sent; stored without what no database takes (a NUL in a Body, say).
    return {name: strip_unstorable(value) for name, value in pairs}


def public_request_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called: behind a TLS proxy the app sees http://, Twilio signed https://."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = settings.base_url() + request.url.path
    return f"{url}?{query}" if query else url


def twiml(texts: list[str]) -> Response:
    """A TwiML answer with one <Message> per text; an empty <Response/> sends nothing."""
    answer = MessagingResponse()
    for text in texts:
        answer.message(text)
    return Response(str(answer), media_type="application/xml")


async def record_status(
    services: Services,
    sid: str,
    status: str,
    code: int | None,
    *,
    channel: str = CHANNEL,
    label: str = "SMS",
) -> bool:
    """Apply a delivery status to the invitation whose question had this sid; True if it moved.

    The invitation's `delivery_status` only moves forward (queued → sent → delivered → read; a
    failure is final), so repeated, late or out-of-order callbacks change nothing. A terminal
    failure also moves an invitation still `sent` (unanswered) to `failed` with the reason in
    `last_error` — or, with a fallback order, to the next channel — and for a number that is gone
    or opted out (21610, …) suppresses the channel (`channel`: Twilio's status callbacks are the
    same for SMS and WhatsApp).
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        log.debug("%s %s has unknown status %s", channel, sid, status)
        return False
    now = services.clock()
    async with UnitOfWork(services.sessions) as uow:
        found = await uow.messages.sent_with_provider_id(channel, sid)
        invitation_id, contact_id = found or (None, None)
        if invitation_id is None:
            log.info("status %s for unknown %s %s ignored", status, channel, sid)
            return False
        invitation = await uow.invitations.get(invitation_id, lock=True)
        if invitation is None or rank <= STATUS_RANK.get(invitation.delivery_status or "", -1):
            return False
        invitation.delivery_status = status
        invitation.updated_at = now
        moved = None
        if status in FAILED_STATUSES:
            error = f"{label} {status}" + (f", Twilio error {code}" if code else "")
            if suppresses(code) and contact_id is not None:
                await uow.opt_outs.add(contact_id, channel, source="provider")
                recorder.announce_opt_out(uow, contact_id, channel, source="provider", now=now)
            failure = Failure(channel, fb.UNDELIVERED, error, str(code) if code else None)
            move = await _undelivered(services, uow, invitation, sid, failure, now)
            if move is not None and await recorder.record(uow, invitation, move, at=now):
                moved = move
                log.warning(
                    "invitation %s: %s %s %s (%s)", invitation_id, channel, sid, error, move.name
                )
        await uow.commit()
    if moved is not None and moved.values.get("channel"):
        services.outbox.wake()  # fell back: the next channel may send at once
    return True


async def _undelivered(
    services: Services,
    uow: UnitOfWork,
    invitation: Invitation,
    sid: str,
    failure: Failure,
    now: datetime,
) -> Move | None:
    """What a report that a sent message never arrived does to its unanswered invitation.

    The question (its sid is the invitation's) moves on to the next channel of the fallback
    order, or fails when there is none. A reminder of an invitation with an order is only
    recorded: the question reached the person on another channel. Without an order a failed
    reminder fails the invitation, as it always did.
    """
    if invitation.status != lifecycle.Status.SENT:
        return None
    fallback = Fallback(services.catalog, services.suppression)
    question = invitation.provider_message_id == sid
    if invitation.channels and question:
        contact = await uow.contacts.get(invitation.contact_id)
        survey = await uow.surveys.get(invitation.survey_id)
        if contact is not None and survey is not None:
            move = await fallback.question_failed(
                uow,
                invitation.id,
                order=invitation.channels,
                contact=contact,
                survey=to_domain(survey),
                failure=failure,
                now=now,
                after_sent=True,
            )
            return move or lifecycle.delivery_failed(now, failure.summary())
    await fallback.record(uow, invitation.id, failure, now, reminder=not question)
    if invitation.channels and not question:
        return None
    return lifecycle.delivery_failed(now, failure.error)


def error_code(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def missing_field(field: str) -> Unprocessable:
    return Unprocessable(f"{field} is missing", field=field)
