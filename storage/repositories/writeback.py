"""The help-desk write-back's one query: notes waiting out their grace period, brought forward."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.models import Invitation, InvitationStatus
from storage.outbound import Delivery, DeliveryStatus, Event


async def bring_forward(
    session: AsyncSession, *, prefix: str, now: datetime, until: datetime
) -> int:
    """Make due now the deliveries to targets starting with `prefix` that are due after `now`
    (up to `until`), never attempted, and whose conversation is over; how many."""
    finished = (
        select(Event.id)
        .join(Invitation, Invitation.id == Event.invitation_id)
        .where(Invitation.status == InvitationStatus.COMPLETED)
    )
    result = await session.execute(
        update(Delivery)
        .execution_options(synchronize_session=False)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at > now,
            Delivery.next_attempt_at <= until,
            sa_column(Delivery.payload).is_(None),
            sa_column(Delivery.target).startswith(prefix, autoescape=True),
            sa_column(Delivery.event_id).in_(finished),
        )
        .values(next_attempt_at=now)
    )
    return int(result.rowcount or 0)
