"""/api/v1/triggers: ask one survey of one contact; the help-desk webhooks answer the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.contacts.schemas import ContactIn, Properties
from bot.contacts.text import Storable, Text
from bot.http.deps import ApiKeyDep
from bot.http.schemas import API_ERRORS, API_TRIGGER_SCOPES, ApiError, ChannelName
from bot.invitations.decisions import order_problem
from bot.invitations.triggers import TriggerCommand, api_caller, trigger
from bot.runtime.services import Services, ServicesDep
from bot.wiring import registry

router = APIRouter(
    prefix="/api/v1", dependencies=API_TRIGGER_SCOPES, responses=API_ERRORS, tags=["triggers"]
)

# What a trigger route answers 409 for (the webhooks too).
CONFLICTS = "The idempotency_key was used for a different trigger, or the survey is archived"


class TriggerIn(BaseModel):
    """Ask one survey of one contact, now or after a delay."""

    model_config = ConfigDict(extra="forbid")

    survey: Text = Field(min_length=1, max_length=64)
    contact: ContactIn
    channel: ChannelName | None = Field(
        default=None,
        description="this channel alone; omit to use the contact's best reachable channel, "
        "or the fallback order",
    )
    channels: list[ChannelName] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="a fallback order instead of the survey's: the first that reaches the "
        "contact is asked, and a send that fails for good moves on to the next (not with "
        "`channel`; the web chat only last)",
    )
    delay_seconds: int = Field(default=0, ge=0, le=90 * 24 * 3600)
    properties: Properties | None = None
    idempotency_key: Annotated[str, Field(min_length=1, max_length=255), Storable] | None = Field(
        default=None,
        description="yours alone, per survey: a replay returns the same invitation and changes "
        "nothing; the key with a different body is refused (409)",
    )

    @field_validator("channels")
    @classmethod
    def _order(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return None
        if info.data.get("channel") is not None:
            raise ValueError(
                "give either channel (that channel alone) or channels (a fallback order), not both"
            )
        problem = order_problem(value, registry.infos())
        if problem is not None:
            raise ValueError(problem)
        return value

    def command(self, *, caller: str) -> TriggerCommand:
        return TriggerCommand(
            survey=self.survey,
            contact=self.contact,
            caller=caller,
            channel=self.channel,
            channels=tuple(self.channels) if self.channels is not None else None,
            delay_seconds=self.delay_seconds,
            properties=dict(self.properties or {}),
            idempotency_key=self.idempotency_key,
        )


class TriggerOut(BaseModel):
    invitation_id: str
    status: Literal["scheduled", "skipped"] | str
    reason: str | None = None
    send_at: datetime | None = Field(
        default=None, description="when the question goes out; null when the trigger was skipped"
    )
    link: str | None = None
    channel: str


@router.post(
    "/triggers",
    response_model=TriggerOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ApiError, "description": CONFLICTS}},
)
async def post_trigger(body: TriggerIn, services: ServicesDep, key: ApiKeyDep) -> TriggerOut:
    """Schedule one survey for one contact; a replayed idempotency_key returns the same one."""
    return await trigger_and_answer(services, body.command(caller=api_caller(key.id)))


async def trigger_and_answer(services: Services, command: TriggerCommand) -> TriggerOut:
    """Run a trigger for the API or a webhook: wake the outbox if due, add the chat link."""
    result = await trigger(
        services.sessions,
        command,
        now=services.clock(),
        channels=services.catalog,
        suppression=services.suppression,
    )
    invitation = result.invitation
    if (
        result.created
        and invitation.status == "scheduled"
        and invitation.send_at <= services.clock()
    ):
        services.outbox.wake()
    # A channel with no address of its own is reached through the link handed back here: the
    # invitation's channel, or the last of its fallback order (the link works on any channel).
    reached = {invitation.channel, *(invitation.channels or ())}
    link_only = any(i.name in reached and i.address is None for i in services.catalog)
    skipped = invitation.status == "skipped"
    link = services.links.url(invitation.id) if link_only and not skipped else None
    return TriggerOut(
        invitation_id=invitation.id,
        status="skipped" if skipped else "scheduled",
        reason=invitation.skip_reason,
        send_at=None if skipped else invitation.send_at,
        link=link,
        channel=invitation.channel,
    )
