"""The outbox of events and their deliveries: written with the change, routed, claimed, recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.models import Contact, Invitation, Response, SurveyRow
from storage.outbound import (
    Delivery,
    DeliveryStatus,
    Event,
    Webhook,
    WebhookStatus,
    event_uid,
)
from storage.repositories._dialect import upsert_insert


@dataclass(slots=True)
class Announced:
    """An event waiting for its transaction's commit; `response` may be a row whose id the
    transaction's own write sets (a response stored in the same turn)."""

    type: str
    occurred_at: datetime
    invitation_id: str | None = None
    response: Any = None
    contact_id: int | None = None
    survey_id: int | None = None
    data: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """The event's row (every column but the id)."""
        response_id = getattr(self.response, "id", self.response)
        return {
            "uid": event_uid(),
            "routed": False,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "invitation_id": self.invitation_id,
            "response_id": response_id,
            "contact_id": self.contact_id,
            "survey_id": self.survey_id,
            "data": self.data or {},
        }


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, events: Sequence[Announced]) -> None:
        rows = [event.row() for event in events]
        await self.session.execute(Event.__table__.insert(), rows)

    async def unrouted(self, limit: int) -> list[Event]:
        """The oldest events not routed yet, locked (skipping those another router holds)."""
        stmt = select(Event).where(sa_column(Event.routed).is_(False)).order_by(Event.id)
        stmt = stmt.limit(limit)
        if self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.session.execute(stmt)).scalars())

    async def mark_routed(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(Event).where(sa_column(Event.id).in_(ids)).values(routed=True)
            )

    async def get(self, event_id: int) -> Event | None:
        return await self.session.get(Event, event_id)

    async def many(self, ids: set[int]) -> dict[int, Event]:
        """The events of these ids (those that still exist), by id."""
        if not ids:
            return {}
        stmt = select(Event).where(sa_column(Event.id).in_(ids))
        return {e.id or 0: e for e in (await self.session.execute(stmt)).scalars()}

    async def forget_unrouted(self, contact_id: int, invitation_ids: Sequence[str]) -> int:
        """Mark the contact's events not routed yet as routed, so they go nowhere (the contact
        is being erased); how many."""
        about: Any = Event.contact_id == contact_id
        if invitation_ids:
            about = or_(about, sa_column(Event.invitation_id).in_(invitation_ids))
        result = await self.session.execute(
            update(Event)
            .execution_options(synchronize_session=False)
            .where(sa_column(Event.routed).is_(False), about)
            .values(routed=True)
        )
        return int(result.rowcount or 0)

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Event))).scalar())

    async def prune(self, before: datetime) -> int:
        """Delete routed events older than `before` that no delivery still points to."""
        held = select(Delivery.event_id).where(Delivery.event_id == Event.id)
        result = await self.session.execute(
            delete(Event).where(
                sa_column(Event.routed).is_(True), Event.occurred_at < before, ~held.exists()
            )
        )
        return int(result.rowcount or 0)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, webhook: Webhook) -> Webhook:
        self.session.add(webhook)
        await self.session.flush()
        return webhook

    async def get(self, webhook_id: str) -> Webhook | None:
        row = await self.session.get(Webhook, webhook_id)
        return None if row is None or row.deleted_at is not None else row

    async def many(self, ids: set[str]) -> dict[str, Webhook]:
        """The subscriptions of these ids that were not removed, by id."""
        if not ids:
            return {}
        stmt = select(Webhook).where(
            sa_column(Webhook.id).in_(ids), sa_column(Webhook.deleted_at).is_(None)
        )
        return {w.id: w for w in (await self.session.execute(stmt)).scalars()}

    async def all(self) -> list[Webhook]:
        stmt = select(Webhook).where(sa_column(Webhook.deleted_at).is_(None))
        return list((await self.session.execute(stmt.order_by(Webhook.created_at))).scalars())

    async def active(self) -> list[Webhook]:
        stmt = select(Webhook).where(
            sa_column(Webhook.deleted_at).is_(None), Webhook.status == WebhookStatus.ACTIVE
        )
        return list((await self.session.execute(stmt)).scalars())

    async def remove(self, webhook_id: str, now: datetime) -> int:
        """Mark it deleted and drop its pending deliveries; how many were dropped."""
        await self.session.execute(
            update(Webhook).where(Webhook.id == webhook_id).values(deleted_at=now)
        )
        dropped = await self.session.execute(
            update(Delivery)
            .where(Delivery.webhook_id == webhook_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.DROPPED, finished_at=now, last_error="webhook removed")
        )
        return int(dropped.rowcount or 0)

    async def succeeded(self, webhook_id: str, now: datetime) -> None:
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(failing_since=None, last_success_at=now)
        )

    async def failed(self, webhook_id: str, now: datetime) -> datetime:
        """Note a failure; when its run of failures started."""
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, sa_column(Webhook.failing_since).is_(None))
            .values(failing_since=now)
        )
        since = await self.session.execute(
            select(Webhook.failing_since).where(Webhook.id == webhook_id)
        )
        return since.scalar_one() or now

    async def disable(self, webhook_id: str, reason: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.status == WebhookStatus.ACTIVE)
            .values(status=WebhookStatus.DISABLED, disabled_reason=reason)
        )
        return bool(result.rowcount)

    async def enable(self, webhook_id: str) -> None:
        await self.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(status=WebhookStatus.ACTIVE, disabled_reason=None, failing_since=None)
        )


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add deliveries; one that exists (same target and event) is left as it is."""
        if rows:
            stmt = upsert_insert(self.session, Delivery).on_conflict_do_nothing(
                index_elements=["target", "event_id"]
            )
            await self.session.execute(stmt, list(rows))

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Delivery]:
        """Due pending deliveries, leased to the caller (others skip them until the lease ends)."""
        due = (
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                or_(sa_column(Delivery.lease_until).is_(None), Delivery.lease_until < now),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        if self.session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await self.session.execute(due)).scalars())
        if not ids:
            return []
        await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(sa_column(Delivery.id).in_(ids))
            .values(lease_until=lease_until)
        )
        stmt = select(Delivery).where(sa_column(Delivery.id).in_(ids)).order_by(Delivery.id)
        stmt = stmt.execution_options(populate_existing=True)
        return list((await self.session.execute(stmt)).scalars())

    async def lease(self, delivery_id: int, lease_until: datetime) -> None:
        await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(Delivery.id == delivery_id)
            .values(lease_until=lease_until)
        )

    async def fix_bodies(self, bodies: Sequence[tuple[int, str]], now: datetime) -> None:
        """Store the bodies of first attempts, (id, body) each (every retry sends it again)."""
        if bodies:
            stmt = (
                update(Delivery.__table__)
                .where(Delivery.__table__.c.id == bindparam("b_id"))
                .values(payload=bindparam("b_payload"), first_attempt_at=now)
            )
            rows = [{"b_id": i, "b_payload": body} for i, body in bodies]
            await self.session.execute(stmt, rows)

    async def drop(self, ids: Sequence[int], reason: str, now: datetime) -> None:
        """End these deliveries unsent (their target is gone)."""
        if ids:
            await self.session.execute(
                update(Delivery)
                .execution_options(synchronize_session=False)
                .where(sa_column(Delivery.id).in_(ids))
                .values(
                    status=DeliveryStatus.DROPPED,
                    finished_at=now,
                    last_error=reason,
                    lease_until=None,
                )
            )

    async def settle_many(self, rows: Sequence[dict[str, Any]], lease_until: datetime) -> set[int]:
        """Write attempts' results (each row: `id` and every column it sets) for the deliveries
        the caller still holds under `lease_until`; the ids written.

        The rows still held are locked first, so that no other process takes them between
        reading and writing (SQLite's writer lock does the same there).
        """
        if not rows:
            return set()
        held_stmt = select(Delivery.id).where(
            sa_column(Delivery.id).in_([r["id"] for r in rows]),
            Delivery.lease_until == lease_until,
        )
        if self.session.bind.dialect.name == "postgresql":
            held_stmt = held_stmt.with_for_update()
        held = {i for i in (await self.session.execute(held_stmt)).scalars() if i is not None}
        mine = [{f"b_{k}": v for k, v in r.items()} for r in rows if r["id"] in held]
        if mine:
            table = Delivery.__table__
            columns = [k for k in rows[0] if k != "id"]
            stmt = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(lease_until=None, **{k: bindparam(f"b_{k}") for k in columns})
            )
            await self.session.execute(stmt, mine)
        return held

    async def get(self, delivery_id: int) -> Delivery | None:
        return await self.session.get(Delivery, delivery_id)

    async def of_webhook(
        self, webhook_id: str, *, limit: int, offset: int, status: str | None = None
    ) -> tuple[list[tuple[Delivery, Event]], int]:
        where = [Delivery.webhook_id == webhook_id]
        if status:
            where.append(Delivery.status == status)
        stmt = (
            select(Delivery, Event)
            .join(Event, Event.id == Delivery.event_id)
            .where(*where)
            .order_by(Delivery.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = [(r[0], r[1]) for r in (await self.session.execute(stmt)).all()]
        total = await self.session.execute(select(func.count()).select_from(Delivery).where(*where))
        return rows, int(total.scalar_one())

    async def resend(self, delivery_id: int, now: datetime) -> None:
        """Put a finished delivery back in the queue, due now, with the same payload."""
        await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                lease_until=None,
                finished_at=None,
                first_attempt_at=None,
            )
        )

    async def drop_for_contact(self, contact_id: int, now: datetime) -> int:
        """Drop the contact's deliveries not sent yet and forget every body built for them
        (the contact is being erased); how many were dropped."""
        dropped = await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(Delivery.contact_id == contact_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.DROPPED, finished_at=now, last_error="contact erased")
        )
        await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(Delivery.contact_id == contact_id)
            .values(payload=None)
        )
        return int(dropped.rowcount or 0)

    async def prune(self, before: datetime) -> int:
        """Delete finished deliveries (delivered, failed, dropped) older than `before`."""
        result = await self.session.execute(
            delete(Delivery).where(
                Delivery.status != DeliveryStatus.PENDING,
                Delivery.finished_at < before,
            )
        )
        return int(result.rowcount or 0)

    async def counts(self) -> dict[str, int]:
        stmt = select(Delivery.status, func.count()).group_by(Delivery.status)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}


@dataclass(frozen=True, slots=True)
class EventRows:
    """The rows an event is about, as they stand now (any may be missing)."""

    survey: SurveyRow | None = None
    invitation: Invitation | None = None
    response: Response | None = None
    contact: Contact | None = None


async def rows_of(session: AsyncSession, events: Sequence[Event]) -> dict[int, EventRows]:
    """For each event, its survey, invitation, response and contact, in four queries at most.

    A response event written by id (an expiry, say) names only its invitation: its response is
    found through the invitation.
    """
    invitation_ids = {e.invitation_id for e in events if e.invitation_id}
    invitations = await _by(session, Invitation, Invitation.id, invitation_ids)
    responses_by_id = await _by(
        session, Response, Response.id, {e.response_id for e in events if e.response_id}
    )
    by_invitation = {
        r.invitation_id: r
        for r in (await _by(session, Response, Response.invitation_id, invitation_ids)).values()
    }
    found: dict[int, EventRows] = {}
    contact_ids: set[int] = set()
    survey_ids: set[int] = set()
    for event in events:
        invitation = invitations.get(event.invitation_id) if event.invitation_id else None
        response = responses_by_id.get(event.response_id) if event.response_id else None
        if response is None and event.type.startswith("response.") and invitation is not None:
            response = by_invitation.get(invitation.id)
        contact_id = event.contact_id or (invitation.contact_id if invitation else None)
        survey_id = event.survey_id or (invitation.survey_id if invitation else None)
        if contact_id:
            contact_ids.add(contact_id)
        if survey_id:
            survey_ids.add(survey_id)
        found[event.id or 0] = EventRows(invitation=invitation, response=response)
    contacts = await _by(session, Contact, Contact.id, contact_ids)
    surveys = await _by(session, SurveyRow, SurveyRow.id, survey_ids)
    for event in events:
        rows = found[event.id or 0]
        invitation = rows.invitation
        contact_id = event.contact_id or (invitation.contact_id if invitation else None)
        survey_id = event.survey_id or (invitation.survey_id if invitation else None)
        found[event.id or 0] = EventRows(
            survey=surveys.get(survey_id) if survey_id else None,
            invitation=invitation,
            response=rows.response,
            contact=contacts.get(contact_id) if contact_id else None,
        )
    return found


async def _by(session: AsyncSession, model: Any, column: Any, keys: set[Any]) -> dict[Any, Any]:
    if not keys:
        return {}
    rows = (await session.execute(select(model).where(column.in_(keys)))).scalars()
    return {getattr(row, column.key): row for row in rows}
