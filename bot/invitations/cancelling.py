"""Cancelling invitations not sent yet: one by id, the one a trigger's key made, or a contact's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Conflict, NotFound, Unprocessable
from bot.invitations import lifecycle, recorder
from bot.invitations.triggers import scoped_key
from storage.models import Invitation, InvitationStatus
from storage.uow import UnitOfWork

Sessions = async_sessionmaker[AsyncSession]


async def cancel(sessions: Sessions, *, now: datetime, invitation_id: str) -> str:
    """Cancel a scheduled invitation; repeatable once cancelled, Conflict once it was sent."""
    async with UnitOfWork(sessions) as uow:
        found = await uow.invitations.get(invitation_id, lock=True)
        if found is None:
            raise NotFound("no such invitation", field="invitation")
        return await _cancel(uow, found, now)


async def cancel_by_key(
    sessions: Sessions,
    idempotency_key: str,
    *,
    caller: str,
    survey: str | None,
    now: datetime,
) -> str:
    """Cancel what this caller's trigger with the key made (in `survey`, or the one survey
    where the caller used the key); another caller's keys are not seen at all."""
    async with UnitOfWork(sessions) as uow:
        if survey is not None:
            surveys = [survey]
        else:
            surveys = [row.key for row in await uow.surveys.list()]
        keys = [scoped_key(caller, key, idempotency_key) for key in surveys]
        found = await uow.invitations.by_idempotency_keys(keys, lock=True)
        if not found:
            raise NotFound(
                f"none of your triggers used the idempotency_key {idempotency_key!r}",
                field="idempotency_key",
            )
        if len(found) > 1:
            raise Unprocessable(
                f"the idempotency_key {idempotency_key!r} was used in {len(found)} surveys: "
                "name the survey (survey=KEY)",
                field="survey",
            )
        return await _cancel(uow, found[0], now)


async def _cancel(uow: UnitOfWork, found: Invitation, now: datetime) -> str:
    if await recorder.record(uow, found, lifecycle.cancelled(now), at=now):
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
