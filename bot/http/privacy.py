"""/api/v1/contacts/{external_id}: a contact's data exported, or erased (admin keys only)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.http.deps import ReadUowDep, UowDep
from bot.http.schemas import API_ADMIN, API_ERRORS
from bot.privacy.erase import erase_contact
from bot.privacy.export import ContactExport, export_contact
from bot.runtime.services import ServicesDep
from bot.wiring import registry

# Personal data, all of it: more than reading, so it takes an admin key.
router = APIRouter(prefix="/api/v1", dependencies=API_ADMIN, responses=API_ERRORS, tags=["privacy"])


class ErasedOut(BaseModel):
    external_id: str = Field(description="the id that was erased; it names no contact any more")
    erased: dict[str, int] = Field(
        description="what was done, counted per kind: messages, comments, opt_outs kept as"
        " suppressed_addresses, invitations_cancelled, responses_kept_anonymous, …"
    )


@router.get("/contacts/{external_id}/export", response_model=ContactExport)
async def export(external_id: str, uow: ReadUowDep, services: ServicesDep) -> ContactExport:
    """Everything held about one contact, as one JSON document."""
    return await export_contact(uow, external_id, now=services.clock())


@router.delete("/contacts/{external_id}", response_model=ErasedOut)
async def erase(external_id: str, uow: UowDep, services: ServicesDep) -> ErasedOut:
    """Erase a contact's personal data everywhere; their scores stay as anonymous rows and
    their opt-outs stay honoured (docs/privacy.md)."""
    counts = await erase_contact(
        uow,
        external_id,
        suppression=services.suppression,
        channels=registry.infos(),
        now=services.clock(),
    )
    await uow.commit()
    return ErasedOut(external_id=external_id, erased=counts)
