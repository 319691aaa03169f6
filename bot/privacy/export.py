"""A contact's data as one JSON document: the record, opt-outs, invitations, transcript, answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.errors import NotFound
from storage.models import Contact
from storage.repositories.contacts import ADDRESS_FIELDS
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork


class ContactData(BaseModel):
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    locale: str | None
    timezone: str | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class OptOutData(BaseModel):
    channel: str
    source: str = Field(description="keyword, provider, link, ...: how the wish came")
    since: datetime


class InvitationData(BaseModel):
    id: str
    survey: str
    channel: str
    status: str
    skip_reason: str | None
    step: str
    send_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    properties: dict[str, Any]
    attempts: int
    reminders_sent: int
    last_error: str | None
    delivery_status: str | None
    channels: list[str] | None = Field(
        default=None, description="the fallback order it was made with; null: its channel alone"
    )


class ChannelFailureData(BaseModel):
    invitation_id: str
    channel: str = Field(description="the channel that could not make a send")
    reason: str
    code: str | None
    error: str | None
    reminder: bool
    at: datetime


class MessageData(BaseModel):
    invitation_id: str | None
    direction: str = Field(description="in: from the contact; out: to the contact")
    channel: str
    address: str | None
    text: str
    at: datetime


class ResponseData(BaseModel):
    invitation_id: str | None = Field(description="none for an imported response")
    survey: str
    channel: str
    score: int
    band: str
    reason: str | None
    comment: str | None
    themes: list[str]
    answered_at: datetime
    properties: dict[str, Any]
    source: str = Field(description="conversation or import")


class LinkClaimData(BaseModel):
    chat_id: str = Field(description="the Telegram chat that opened the contact's link")
    created_at: datetime


class ContactExport(BaseModel):
    """Everything surveybot holds about one contact."""

    exported_at: datetime
    contact: ContactData
    opt_outs: list[OptOutData]
    invitations: list[InvitationData]
    messages: list[MessageData]
    responses: list[ResponseData]
    telegram_link_claims: list[LinkClaimData]
    channel_failures: list[ChannelFailureData] = Field(
        default_factory=list, description="sends of the contact's invitations a channel failed"
    )


def addresses_of(contact: Contact) -> list[str]:
    """The contact's addresses (email, phone, chat id), as messages from them are stored."""
    return [value for name in ADDRESS_FIELDS if (value := getattr(contact, name))]


async def export_contact(uow: UnitOfWork, external_id: str, *, now: datetime) -> ContactExport:
    """Everything held about the contact called `external_id`; NotFound if there is none."""
    contact = await uow.contacts.get_by_external_id(external_id)
    if contact is None or contact.id is None:
        raise NotFound(f"contact {external_id!r} does not exist", field="external_id")
    opt_outs = await uow.messages.opt_outs_of(contact.id)
    invitations = await uow.privacy.invitations_of(contact.id)
    messages = await uow.privacy.messages_of(contact.id, addresses_of(contact))
    responses = await uow.privacy.responses_of(contact.id)
    themes = await uow.privacy.themes_of([r.id for r, _ in responses if r.id is not None])
    claims = await uow.privacy.link_claims_of(contact.id)
    failures = await uow.privacy.channel_failures_of(contact.id)
    surveys = {row.id: to_domain(row) for _, row in responses}
    return ContactExport(
        exported_at=now,
        contact=ContactData.model_validate(contact, from_attributes=True),
        opt_outs=[
            OptOutData(channel=o.channel, source=o.source, since=o.created_at) for o in opt_outs
        ],
        invitations=[
            InvitationData.model_validate({**i.model_dump(), "survey": key})
            for i, key in invitations
        ],
        messages=[
            MessageData(
                invitation_id=m.invitation_id,
                direction=m.direction,
                channel=m.channel,
                address=m.address,
                text=m.text,
                at=m.created_at,
            )
            for m in messages
        ],
        responses=[
            ResponseData(
                invitation_id=r.invitation_id,
                survey=survey.key,
                channel=r.channel,
                score=r.score,
                band=surveys[survey.id].band(r.score),
                reason=r.reason,
                comment=r.comment,
                themes=themes.get(r.id or 0, []),
                answered_at=r.answered_at,
                properties=r.properties,
                source=r.source,
            )
            for r, survey in responses
        ],
        telegram_link_claims=[
            LinkClaimData(chat_id=c.chat_id, created_at=c.created_at) for c in claims
        ],
        channel_failures=[
            ChannelFailureData(
                invitation_id=f.invitation_id,
                channel=f.channel,
                reason=f.reason,
                code=f.code,
                error=f.error,
                reminder=f.reminder,
                at=f.failed_at,
            )
            for f in failures
        ],
    )
