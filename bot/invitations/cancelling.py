"""Cancelling invitations not sent yet: one by id, the one a trigger's key made, or a contact's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Conflict, NotFound
from bot.invitations import lifecycle, recorder
from storage.models import Invitation, InvitationStatus
from storage.uow import UnitOfWork

Sessions = async_sessionmaker[AsyncSession]


async def cancel(
    sessions: Sessions,
    *,
    now: datetime,
    invitation_id: str | None = None,
    idempotency_key: str | None = None,
) -> str:
    """Cancel a scheduled invitation; repeatable once cancelled, Conflict once it was sent."""
    async with UnitOfWork(sessions) as uow:
        found: Invitation | None
        if invitation_id is not None:
            found = await uow.invitations.get(invitation_id, lock=True)
        else:
            found = await uow.invitations.get_by_idempotency_key(idempotency_key or "")
        if found is None:
            raise NotFound("no such invitation", field="invitation")
        if await recorder.record(uow, found, lifecycle.cancelled(now)):
            await uow.commit()
        elif found.status != InvitationStatus.CANCELLED:
            raise Conflict(
                f"the invitation is {found.status}: only a scheduled one can be cancelled",
                field="invitation",
            )
        return found.id


async def cancel_for_contact(sessions: Sessions, external_id: str, *, now: datetime) -> int:
    """Cancel every invitation of a contact not taken for sending yet; how many."""
    async with UnitOfWork(sessions) as uow:
        contact = await uow.contacts.get_by_external_id(external_id)
        if contact is None or contact.id is None:
            raise NotFound(f"contact {external_id!r} does not exist", field="external_id")
        move = lifecycle.cancelled(now)
        count = await uow.invitations.transition_for_contact(
            contact.id, move.sources, **move.values
        )
        await uow.commit()
        return count
