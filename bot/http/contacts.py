"""/api/v1/contacts: create, update or read a contact; link their Telegram chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.contacts.schemas import ContactIn
from bot.errors import NotFound
from bot.http.deps import ReadUowDep, UowDep
from bot.http.schemas import API_ADMIN, API_ERRORS, API_SCOPES, ApiError
from bot.runtime.services import ServicesDep
from bot.wiring.telegram import TelegramLinkOut, telegram_link
from storage.models import InvitationStatus

RECENT = 20  # invitations listed with a contact

router = APIRouter(
    prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["contacts"]
)


class ContactOut(BaseModel):
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


class OptOutOut(BaseModel):
    channel: str
    source: str = Field(description="keyword, provider, link, ...: how the wish came")
    since: datetime


class RecentInvitationOut(BaseModel):
    id: str
    survey: str
    channel: str
    status: str
    skip_reason: str | None
    send_at: datetime | None = Field(description="none if skipped")
    sent_at: datetime | None
    created_at: datetime


class ContactDetailOut(ContactOut):
    opt_outs: list[OptOutOut]
    recent_invitations: list[RecentInvitationOut] = Field(
        description=f"the newest {RECENT} first (GET /api/v1/invitations/{{id}} for each one)"
    )


@router.post("/contacts", response_model=ContactOut)
async def upsert_contact(contact: ContactIn, uow: UowDep) -> ContactOut:
    """Create or update a contact by external_id; omitted fields keep their stored value."""
    row = await uow.contacts.upsert(contact.external_id, contact.fields(), contact.properties)
    await uow.commit()
    return ContactOut.model_validate(row, from_attributes=True)


@router.get("/contacts/{external_id}", response_model=ContactDetailOut)
async def get_contact(external_id: str, uow: ReadUowDep) -> ContactDetailOut:
    """One contact: the record, their opt-outs and their newest invitations."""
    row = await uow.contacts.get_by_external_id(external_id)
    if row is None or row.id is None:
        raise NotFound(f"contact {external_id!r} does not exist", field="external_id")
    opt_outs = await uow.messages.opt_outs_of(row.id)
    recent = await uow.messages.invitations_of(row.id, RECENT)
    return ContactDetailOut(
        **ContactOut.model_validate(row, from_attributes=True).model_dump(),
        opt_outs=[
            OptOutOut(channel=o.channel, source=o.source, since=o.created_at) for o in opt_outs
        ],
        recent_invitations=[
            RecentInvitationOut(
                id=i.id,
                survey=key,
                channel=i.channel,
                status=i.status,
                skip_reason=i.skip_reason,
                send_at=None if i.status == InvitationStatus.SKIPPED else i.send_at,
                sent_at=i.sent_at,
                created_at=i.created_at,
            )
            for i, key in recent
        ],
    )


# A link binds a chat to the contact: more than reading, so it takes an admin key.
@router.get(
    "/contacts/{external_id}/telegram-link",
    response_model=TelegramLinkOut,
    dependencies=API_ADMIN,
    responses={
        502: {"model": ApiError, "description": "Telegram could not be asked the bot's name"}
    },
)
async def get_telegram_link(external_id: str, services: ServicesDep) -> TelegramLinkOut:
    """A `https://t.me/<bot>?start=<payload>` link that connects this contact's chat."""
    return await telegram_link(services, external_id)
