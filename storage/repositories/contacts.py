"""Contacts (upserted by external id, row-locked for the transaction) and opt-outs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, OptOut
from storage.records import ContactView
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

CONTACT_FIELDS = ("name", "email", "phone", "telegram_chat_id", "locale", "timezone")
ADDRESS_COLUMNS = {"sms": "phone", "email": "email", "telegram": "telegram_chat_id"}


def address_on(contact: ContactView, channel: str) -> str | None:
    """The contact's address on a channel; the web chat needs none (the link is the address)."""
    column = ADDRESS_COLUMNS.get(channel)
    if column is None:
        return contact.external_id if channel == "web" else None
    value: str | None = getattr(contact, column)
    return value


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self,
        external_id: str,
        fields: dict[str, Any],
        properties: dict[str, Any] | None = None,
    ) -> Contact:
        """Create or update a contact and lock its row until the transaction ends.

        Given fields replace stored ones; properties merge key by key. The lock serialises
        concurrent triggers for one contact, so eligibility sees the other's invitation.
        """
        now = utcnow()
        insert = upsert_insert(self.session, Contact).values(
            external_id=external_id, properties={}, created_at=now, updated_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing(index_elements=["external_id"]))
        contact = await self.get_by_external_id(external_id, lock=True)
        assert contact is not None
        changed = False
        for name in CONTACT_FIELDS:
            if (
                name in fields
                and fields[name] is not None
                and getattr(contact, name) != fields[name]
            ):
                setattr(contact, name, fields[name])
                changed = True
        if properties:
            merged = {**contact.properties, **properties}
            if merged != contact.properties:
                contact.properties = merged
                changed = True
        if changed:
            contact.updated_at = now
            await self.session.flush()
        return contact

    async def get_by_external_id(self, external_id: str, *, lock: bool = False) -> Contact | None:
        stmt = select(Contact).where(Contact.external_id == external_id)
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def by_address(self, channel: str, address: str) -> Contact | None:
        """The contact a channel address belongs to (phone for sms, email, Telegram chat id)."""
        column = ADDRESS_COLUMNS.get(channel)
        if column is None:
            return None
        stmt = select(Contact).where(getattr(Contact, column) == address).order_by(Contact.id)
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def get(self, contact_id: int) -> Contact | None:
        return await self.session.get(Contact, contact_id)

    async def by_ids(self, ids: list[int]) -> dict[int, Contact]:
        if not ids:
            return {}
        result = await self.session.execute(select(Contact).where(Contact.id.in_(ids)))
        return {c.id: c for c in result.scalars() if c.id is not None}


class OptOutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_opted_out(self, contact_id: int, channel: str) -> bool:
        stmt = select(OptOut.id).where(OptOut.contact_id == contact_id, OptOut.channel == channel)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def add(self, contact_id: int, channel: str, source: str) -> None:
        stmt = upsert_insert(self.session, OptOut).values(
            contact_id=contact_id, channel=channel, source=source, created_at=utcnow()
        )
        await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=["contact_id", "channel"])
        )

    async def remove(self, contact_id: int, channel: str) -> bool:
        result = await self.session.execute(
            delete(OptOut).where(OptOut.contact_id == contact_id, OptOut.channel == channel)
        )
        return bool(result.rowcount)
