"""/api/v1/triggers: ask one survey of one contact; the help-desk webhooks answer the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from bot.contacts.schemas import ContactIn, Properties
from bot.http.schemas import API_ERRORS, API_KEY, ChannelName
from bot.invitations.triggers import TriggerCommand, trigger
from bot.runtime.services import Services, ServicesDep

router = APIRouter(prefix="/api/v1", dependencies=API_KEY, responses=API_ERRORS, tags=["triggers"])


class TriggerIn(BaseModel):
    """Ask one survey of one contact, now or after a delay."""

    model_config = ConfigDict(extra="forbid")

    survey: str = Field(min_length=1, max_length=64)
    contact: ContactIn
    channel: ChannelName | None = Field(
        default=None, description="omit to use the contact's best reachable channel"
    )
    delay_seconds: int = Field(default=0, ge=0, le=90 * 24 * 3600)
    properties: Properties | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)

    def command(self) -> TriggerCommand:
        return TriggerCommand(
            survey=self.survey,
            contact=self.contact,
            channel=self.channel,
            delay_seconds=self.delay_seconds,
            properties=dict(self.properties or {}),
            idempotency_key=self.idempotency_key,
        )


class TriggerOut(BaseModel):
    invitation_id: str
    status: Literal["scheduled", "skipped"] | str
    reason: str | None = None
    send_at: datetime
    link: str | None = None
    channel: str


@router.post("/triggers", response_model=TriggerOut, status_code=status.HTTP_202_ACCEPTED)
async def post_trigger(body: TriggerIn, services: ServicesDep) -> TriggerOut:
    """Schedule one survey for one contact; a replayed idempotency_key returns the same one."""
    return await trigger_and_answer(services, body.command())


async def trigger_and_answer(services: Services, command: TriggerCommand) -> TriggerOut:
    """Run a trigger for the API or a webhook: wake the outbox if due, add the chat link."""
    result = await trigger(
        services.sessions, command, now=services.clock(), channels=services.catalog
    )
    invitation = result.invitation
    if (
        result.created
        and invitation.status == "scheduled"
        and invitation.send_at <= services.clock()
    ):
        services.outbox.wake()
    # A channel with no address of its own is reached through the link handed back here.
    link_only = any(i.name == invitation.channel and i.address is None for i in services.catalog)
    link = (
        services.links.url(invitation.id) if link_only and invitation.status != "skipped" else None
    )
    return TriggerOut(
        invitation_id=invitation.id,
        status="skipped" if invitation.status == "skipped" else "scheduled",
        reason=invitation.skip_reason,
        send_at=invitation.send_at,
        link=link,
        channel=invitation.channel,
    )
