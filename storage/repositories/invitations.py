"""Invitations: creation, throttle look-ups, the dispatcher's leased claims, conversation look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Invitation, InvitationStatus, OptOut, Response, SurveyRow

Status = InvitationStatus


@dataclass(slots=True)
class Conversation:
    """An invitation with its survey, contact, response so far, and the contact's opt-out."""

    invitation: Invitation
    survey: SurveyRow
    contact: Contact
    response: Response | None
    opted_out: bool


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def get(self, invitation_id: str, *, lock: bool = False) -> Invitation | None:
        stmt = select(Invitation).where(Invitation.id == invitation_id)
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def get_by_idempotency_key(self, key: str) -> Invitation | None:
        result = await self.session.execute(
            select(Invitation).where(Invitation.idempotency_key == key)
        )
        return result.scalar_one_or_none()

    async def conversation(self, invitation_id: str, *, lock: bool = False) -> Conversation | None:
        """Everything one conversation turn needs, in one query (row-locked when asked)."""
        opted_out = (
            select(OptOut.id)
            .where(OptOut.contact_id == Invitation.contact_id, OptOut.channel == Invitation.channel)
            .exists()
            .label("opted_out")
        )
        stmt = (
            select(Invitation, SurveyRow, Contact, Response, opted_out)
            .join(SurveyRow, SurveyRow.id == Invitation.survey_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(Invitation.id == invitation_id)
        )
        if lock:
            stmt = stmt.with_for_update(of=Invitation)
        row = (await self.session.execute(stmt.execution_options(populate_existing=True))).first()
        if row is None:
            return None
        return Conversation(row[0], row[1], row[2], row[3], bool(row[4]))

    async def surveyed_since(self, contact_id: int, since: datetime) -> bool:
        """Whether the contact had an invitation scheduled or sent (any survey/channel) since then."""
        stmt = (
            select(Invitation.id)
            .where(
                Invitation.contact_id == contact_id,
                Invitation.status.in_(Status.SURVEYED),
                func.coalesce(Invitation.sent_at, Invitation.send_at) >= since,
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def latest_open(self, contact_id: int, channel: str) -> Invitation | None:
        """The newest invitation sent on a channel (finished ones too: late replies, START)."""
        stmt = (
            select(Invitation)
            .where(
                Invitation.contact_id == contact_id,
                Invitation.channel == channel,
                Invitation.status.in_(
                    (*Status.OPEN, Status.EXPIRED, Status.COMPLETED, Status.CLOSED)
                ),
            )
            .order_by(Invitation.sent_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[str]:
        """Lease up to `limit` due invitations (or ones whose lease ran out) to this worker."""
        due = (
            select(Invitation.id)
            .where(
                or_(
                    (Invitation.status == Status.SCHEDULED) & (Invitation.send_at <= now),
                    (Invitation.status == Status.SENDING) & (Invitation.lease_until < now),
                )
            )
            .order_by(Invitation.send_at)
            .limit(limit)
        )
        if self.session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(Invitation)
            .where(Invitation.id.in_(due.scalar_subquery()))
            .values(
                status=Status.SENDING,
                lease_until=lease_until,
                attempts=Invitation.attempts + 1,
                updated_at=now,
            )
            .returning(Invitation.id)
        )
        result = await self.session.execute(stmt)
        return list(result.scalars().all())

    async def for_dispatch(self, ids: Sequence[str]) -> list[tuple[Invitation, SurveyRow, Contact]]:
        if not ids:
            return []
        stmt = (
            select(Invitation, SurveyRow, Contact)
            .join(SurveyRow, SurveyRow.id == Invitation.survey_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .where(Invitation.id.in_(ids))
            .execution_options(populate_existing=True)
        )
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(stmt)).all()]

    async def transition(
        self, invitation_id: str, from_statuses: Sequence[str], **values: Any
    ) -> bool:
        """Move an invitation forward only if it is still in one of `from_statuses`."""
        stmt = (
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.status.in_(from_statuses),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)

    async def cancel_pending_for_contact(self, contact_id: int, now: datetime) -> int:
        """Cancel every invitation of a contact that has not been claimed for sending yet."""
        stmt = (
            update(Invitation)
            .where(Invitation.contact_id == contact_id, Invitation.status == Status.SCHEDULED)
            .values(status=Status.CANCELLED, skip_reason="cancelled", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)

    async def count_by_status(self) -> dict[str, int]:
        stmt = select(Invitation.status, func.count()).group_by(Invitation.status)
        return {status: count for status, count in (await self.session.execute(stmt)).all()}
