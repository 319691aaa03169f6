"""Contacts (upserted by external id, row-locked for the transaction) and opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Contact, OptOut
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

CONTACT_FIELDS = ("name", "email", "phone", "telegram_chat_id", "locale", "timezone")
# The fields a channel can reach a contact at (each channel's description names its own).
ADDRESS_FIELDS = ("email", "phone", "telegram_chat_id")
# External ids of the contacts `surveybot try` talks to (`try:sms`, …): reserved for them.
TEST_CONTACT_PREFIX = "try:"


def not_test_contact() -> Any:
    """Contacts other than `surveybot try`'s (campaign audiences leave those out)."""
    return col(Contact.external_id).not_like(f"{TEST_CONTACT_PREFIX}%")


def field_lengths() -> dict[str, int]:
    """The longest value the database takes in each contact field (PostgreSQL refuses longer)."""
    table = Contact.__table__
    return {
        name: length
        for name in CONTACT_FIELDS
        if (length := getattr(table.c[name].type, "length", 0))
    }


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

    async def plan_each_query(self) -> None:
        """On PostgreSQL, plan every lookup afresh for the rest of this transaction.

        A bulk import grows the table by up to a thousand rows per chunk; a cached generic plan
        for the `external_id IN (…)` lookup, chosen while it was small, turns into a scan of the
        whole table per chunk (measured: ~1.5 s per chunk after 60 000 rows, instead of ~10 ms).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    async def count_existing(self, external_ids: Sequence[str]) -> int:
        """How many of these external ids are contacts already."""
        stmt = select(func.count()).where(Contact.external_id.in_(list(external_ids)))
        return int((await self.session.execute(stmt)).scalar_one())

    async def upsert_many(
        self,
        contacts: Sequence[tuple[str, dict[str, Any], dict[str, Any]]],
        now: datetime,
    ) -> tuple[int, int]:
        """`upsert` for many (external id, fields, properties) at once; returns (created, updated).

        One SELECT … FOR UPDATE of the stored rows, the merge in Python by `upsert`'s rules, and
        one INSERT … ON CONFLICT executemany for the rows that change.
        """
        table = Contact.__table__
        stmt = (
            select(table.c.external_id, *(table.c[n] for n in CONTACT_FIELDS), table.c.properties)
            .where(table.c.external_id.in_([external_id for external_id, _, _ in contacts]))
            .with_for_update()  # PostgreSQL: hold the rows so the property merge cannot race
        )
        stored = {row.external_id: row for row in (await self.session.execute(stmt)).mappings()}
        values: list[dict[str, Any]] = []
        for external_id, given, properties in contacts:
            old = stored.get(external_id)
            if old is None:
                merged = {name: given.get(name) for name in CONTACT_FIELDS}
                merged_properties = dict(properties)
            else:
                merged = {
                    name: given[name] if given.get(name) is not None else old[name]
                    for name in CONTACT_FIELDS
                }
                merged_properties = {**old["properties"], **properties}
                unchanged = {n: old[n] for n in CONTACT_FIELDS}
                if merged == unchanged and merged_properties == old["properties"]:
                    continue  # nothing changes: leave updated_at alone
            values.append(
                {
                    "external_id": external_id,
                    **merged,
                    "properties": merged_properties,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if values:
            # An executemany of one statement compiled once (a 1000-row VALUES is recompiled).
            insert = upsert_insert(self.session, table)
            excluded = insert.excluded
            upsert = insert.on_conflict_do_update(
                index_elements=["external_id"],
                set_={
                    # coalesce: a row created by someone else since the SELECT keeps its values
                    **{n: func.coalesce(excluded[n], table.c[n]) for n in CONTACT_FIELDS},
                    "properties": excluded.properties,
                    "updated_at": excluded.updated_at,
                },
            )
            await self.session.execute(upsert, values)
        return len(contacts) - len(stored), len(stored)

    async def get_by_external_id(self, external_id: str, *, lock: bool = False) -> Contact | None:
        stmt = select(Contact).where(Contact.external_id == external_id)
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def by_address(self, field: str, address: str) -> Contact | None:
        """The contact whose address field (phone, email, telegram_chat_id) holds this address."""
        if field not in ADDRESS_FIELDS:
            raise ValueError(f"{field!r} is not a contact's address field")
        stmt = select(Contact).where(getattr(Contact, field) == address).order_by(Contact.id)
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def take_address(self, contact: Contact, field: str, address: str, now: datetime) -> None:
        """Give `address` to `contact`: whoever else held it in that field lets go."""
        if field not in ADDRESS_FIELDS:
            raise ValueError(f"{field!r} is not a contact's address field")
        column = getattr(Contact, field)
        await self.session.execute(
            update(Contact)
            .where(column == address, Contact.id != contact.id)
            .values({field: None, "updated_at": now})
        )
        setattr(contact, field, address)
        contact.updated_at = now

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

    async def channels_of(self, contact_id: int) -> set[str]:
        """The channels the contact has opted out of."""
        stmt = select(OptOut.channel).where(OptOut.contact_id == contact_id)
        return set((await self.session.execute(stmt)).scalars())

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
