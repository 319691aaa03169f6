"""/api/v1/contacts: create or update a contact; link their Telegram chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from bot.contacts.schemas import ContactIn
from bot.http.deps import UowDep
from bot.http.schemas import API_ERRORS, API_KEY
from bot.runtime.services import ServicesDep
from bot.wiring.telegram import TelegramLinkOut, telegram_link

router = APIRouter(prefix="/api/v1", dependencies=API_KEY, responses=API_ERRORS, tags=["contacts"])


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


@router.post("/contacts", response_model=ContactOut)
async def upsert_contact(contact: ContactIn, uow: UowDep) -> ContactOut:
    """Create or update a contact by external_id; omitted fields keep their stored value."""
    row = await uow.contacts.upsert(contact.external_id, contact.fields(), contact.properties)
    await uow.commit()
    return ContactOut.model_validate(row, from_attributes=True)


@router.get("/contacts/{external_id}/telegram-link", response_model=TelegramLinkOut)
async def get_telegram_link(external_id: str, services: ServicesDep) -> TelegramLinkOut:
    """A `https://t.me/<bot>?start=<payload>` link that connects this contact's chat."""
    return await telegram_link(services, external_id)
