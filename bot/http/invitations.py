"""/api/v1/invitations: cancel one that was not sent yet, or all of a contact's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bot.http.schemas import API_ERRORS, API_KEY
from bot.invitations import cancelling
from bot.runtime.services import ServicesDep
from storage.models import InvitationStatus

router = APIRouter(
    prefix="/api/v1", dependencies=API_KEY, responses=API_ERRORS, tags=["invitations"]
)


class CancelledOut(BaseModel):
    invitation_id: str
    status: str = Field(description="cancelled")


class CancelledManyOut(BaseModel):
    cancelled: int = Field(description="how many pending invitations were cancelled")


@router.delete("/invitations/{invitation_id}", response_model=CancelledOut)
async def cancel_invitation(invitation_id: str, services: ServicesDep) -> CancelledOut:
    """Cancel a pending invitation; 409 once it was sent, repeatable once cancelled."""
    cancelled = await cancelling.cancel(
        services.sessions, now=services.clock(), invitation_id=invitation_id
    )
    return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)


@router.delete("/invitations", response_model=CancelledOut)
async def cancel_by_key(
    services: ServicesDep,
    idempotency_key: Annotated[str, Query(min_length=1, max_length=255)],
) -> CancelledOut:
    """Cancel the pending invitation a trigger with this idempotency key created."""
    cancelled = await cancelling.cancel(
        services.sessions, now=services.clock(), idempotency_key=idempotency_key
    )
    return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)


@router.delete("/contacts/{external_id}/invitations", response_model=CancelledManyOut)
async def cancel_for_contact(external_id: str, services: ServicesDep) -> CancelledManyOut:
    """Cancel every pending invitation of a contact (sent ones are not touched)."""
    count = await cancelling.cancel_for_contact(
        services.sessions, external_id, now=services.clock()
    )
    return CancelledManyOut(cancelled=count)
