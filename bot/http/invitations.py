"""/api/v1/invitations: read one with its timeline; cancel one not sent yet, or a contact's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bot.http.deps import ApiKeyDep, ReadUowDep
from bot.http.schemas import API_ERRORS, API_TRIGGER_SCOPES, ApiError
from bot.invitations import cancelling
from bot.invitations.timeline import InvitationDetailOut, invitation_detail
from bot.invitations.triggers import api_caller
from bot.runtime.services import ServicesDep
from storage.models import InvitationStatus

router = APIRouter(
    prefix="/api/v1", dependencies=API_TRIGGER_SCOPES, responses=API_ERRORS, tags=["invitations"]
)


class CancelledOut(BaseModel):
    invitation_id: str
    status: str = Field(description="cancelled")


class CancelledManyOut(BaseModel):
    cancelled: int = Field(description="how many pending invitations were cancelled")


@router.get("/invitations/{invitation_id}", response_model=InvitationDetailOut)
async def get_invitation(invitation_id: str, uow: ReadUowDep) -> InvitationDetailOut:
    """One invitation: its state, attempts, last error, and a timeline of sends and answers."""
    return InvitationDetailOut.of(await invitation_detail(uow, invitation_id))


@router.delete(
    "/invitations/{invitation_id}",
    response_model=CancelledOut,
    responses={409: {"model": ApiError, "description": "The invitation was sent already"}},
)
async def cancel_invitation(invitation_id: str, services: ServicesDep) -> CancelledOut:
    """Cancel a pending invitation; 409 once it was sent, repeatable once cancelled."""
    cancelled = await cancelling.cancel(
        services.sessions, now=services.clock(), invitation_id=invitation_id
    )
    return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)


@router.delete(
    "/invitations",
    response_model=CancelledOut,
    responses={409: {"model": ApiError, "description": "The invitation was sent already"}},
)
async def cancel_by_key(
    services: ServicesDep,
    key: ApiKeyDep,
    idempotency_key: Annotated[str, Query(min_length=1, max_length=255)],
    survey: Annotated[
        str | None,
        Query(max_length=64, description="needed only when you used the key in several surveys"),
    ] = None,
) -> CancelledOut:
    """Cancel the pending invitation your trigger with this idempotency key created."""
    cancelled = await cancelling.cancel_by_key(
        services.sessions,
        idempotency_key,
        caller=api_caller(key.id),
        survey=survey,
        now=services.clock(),
    )
    return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)


@router.delete("/contacts/{external_id}/invitations", response_model=CancelledManyOut)
async def cancel_for_contact(external_id: str, services: ServicesDep) -> CancelledManyOut:
    """Cancel every pending invitation of a contact (sent ones are not touched)."""
    count = await cancelling.cancel_for_contact(
        services.sessions, external_id, now=services.clock()
    )
    return CancelledManyOut(cancelled=count)
