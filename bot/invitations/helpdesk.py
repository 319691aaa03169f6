"""Help-desk webhooks: HMAC signature checks and the Zendesk ticket-to-trigger mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.contacts.schemas import ContactIn, Properties
from bot.invitations.tickets import ticket_number
from bot.invitations.triggers import ZENDESK, TriggerCommand, scoped_key

# Beyond this distance from our clock a signed request is refused: it bounds how long a
# captured request can be replayed, and still allows for ordinary clock drift.
MAX_SKEW = timedelta(minutes=5)
SOLVED_STATUSES = frozenset({"solved", "closed"})
# The Zendesk receiver's idempotency key for a ticket is this plus the ticket's id.
TICKET_KEY = "ticket:"

GENERIC_TIMESTAMP_HEADER = "X-Surveybot-Timestamp"
GENERIC_SIGNATURE_HEADER = "X-Surveybot-Signature"
ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the generic webhook's header."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def delivery_key(timestamp: str, body: bytes) -> str:
    """An idempotency key naming one signed delivery (what its signature covers).

    A replay of the request within its window carries the same pair, so it is the same trigger;
    the sender's own retry signs a new timestamp and is a new one (send a key to make it the same).
    """
    return "delivery:" + hashlib.sha256(timestamp.encode() + b"." + body).hexdigest()


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, timestamp + body)), as Zendesk signs its webhooks."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check_generic(
    secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> str | None:
    """Why a generic webhook request is refused, or None when its signature checks out."""
    if not timestamp or not signature:
        return f"missing {GENERIC_TIMESTAMP_HEADER} or {GENERIC_SIGNATURE_HEADER}"
    try:
        sent_at = datetime.fromtimestamp(int(timestamp.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        return f"{GENERIC_TIMESTAMP_HEADER} must be unix seconds"
    return _check(generic_signature(secret, timestamp, body), signature, sent_at, now)


def check_zendesk(
    secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> str | None:
    """Why a Zendesk webhook request is refused, or None when its signature checks out."""
    if not timestamp or not signature:
        return f"missing {ZENDESK_SIGNATURE_HEADER} or {ZENDESK_TIMESTAMP_HEADER}"
    try:
        sent_at = datetime.fromisoformat(timestamp.strip())
    except ValueError:
        return f"{ZENDESK_TIMESTAMP_HEADER} must be ISO 8601"
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    return _check(zendesk_signature(secret, timestamp, body), signature, sent_at, now)


def _check(expected: str, given: str, sent_at: datetime, now: datetime) -> str | None:
    # Compare before looking at the clock, so a forged request learns nothing from the answer.
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        return "invalid signature"
    if abs(now - sent_at) > MAX_SKEW:
        return "stale timestamp: more than 5 minutes from the server's clock"
    return None


# Zendesk ids are integers; bounded, so the contact id and the ticket's key stay within limits.
ZendeskId = Annotated[int, Field(ge=0, lt=10**18)] | Annotated[str, Field(max_length=64)]


class ZendeskUser(BaseModel):
    """A requester or agent as the webhook body template renders it; blanks mean absent."""

    model_config = ConfigDict(extra="ignore")

    id: ZendeskId | None = None
    name: str | None = None
    email: str | None = None
    locale: str | None = None
    phone: str | None = None


class ZendeskNamed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None


class ZendeskTicket(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: ZendeskId
    status: str
    assignee: ZendeskNamed | None = None
    group: ZendeskNamed | None = None


class ZendeskEvent(BaseModel):
    """The JSON body the Zendesk webhook template in docs/helpdesks.md produces."""

    model_config = ConfigDict(extra="ignore")

    ticket: ZendeskTicket
    requester: ZendeskUser = Field(default_factory=ZendeskUser)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A help-desk event that asks for no survey, and why."""

    reason: str


def zendesk_trigger(
    event: ZendeskEvent,
    *,
    survey: str,
    channel: str | None,
    delay_seconds: int,
) -> TriggerCommand | Ignored:
    """The trigger a solved ticket asks for; any other status is ignored."""
    if event.ticket.status.strip().lower() not in SOLVED_STATUSES:
        return Ignored("ticket not solved")
    ticket_id = str(event.ticket.id).strip()
    requester_id = _blank(str(event.requester.id) if event.requester.id is not None else None)
    if not ticket_id:
        return Ignored("ticket has no id")
    if requester_id is None:
        return Ignored("ticket has no requester id")
    properties: Properties = {
        "ticket_id": ticket_id,
        "agent": _blank(event.ticket.assignee.name if event.ticket.assignee else None),
        "group": _blank(event.ticket.group.name if event.ticket.group else None),
        "source": "zendesk",
    }
    return TriggerCommand(
        survey=survey,
        contact=_contact(f"zendesk:{requester_id}", event.requester),
        caller=ZENDESK,
        channel=channel,
        delay_seconds=delay_seconds,
        properties=properties,
        # One survey per ticket: solved again, or closed, it is the same ticket.
        idempotency_key=f"{TICKET_KEY}{ticket_id}",
        key_names_event=True,
    )


def zendesk_ticket(idempotency_key: str | None, survey: str) -> str | None:
    """The ticket whose solving made an invitation, from its stored key; None when the Zendesk
    receiver did not make it (only the receiver's keys are scoped to the caller `zendesk`)."""
    prefix = scoped_key(ZENDESK, survey, TICKET_KEY)
    if idempotency_key is None or not idempotency_key.startswith(prefix):
        return None
    return ticket_number(idempotency_key[len(prefix) :])


def _contact(external_id: str, user: ZendeskUser) -> ContactIn:
    # Zendesk fills some fields with values surveybot cannot use (a language name such as
    # "English", a number without a country code): such a field is left out rather than
    # costing the customer their survey.
    fields: dict[str, str] = {}
    for name in ("name", "email", "locale", "phone"):
        value = _blank(getattr(user, name))
        if value is not None and _usable(name, value):
            fields[name] = value
    return ContactIn.model_validate({"external_id": external_id, **fields})


def _usable(field: str, value: str) -> bool:
    try:
        ContactIn.model_validate({"external_id": "probe", field: value})
    except ValidationError:
        return False
    return True


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
