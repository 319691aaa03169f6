"""Turning a trigger into an invitation: contact upsert, channel choice, eligibility, idempotency."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.schemas import ContactIn, Properties
from bot.errors import NotFound, Unprocessable
from bot.invitations import decisions
from channels.base import ChannelInfo
from storage.models import Invitation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.eligibility import throttle_start


@dataclass(frozen=True, slots=True)
class TriggerCommand:
    """Ask one survey of one contact, now or after a delay (from the API, a webhook or a test)."""

    survey: str
    contact: ContactIn
    channel: str | None = None
    delay_seconds: int = 0
    properties: Properties = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerResult:
    invitation: Invitation
    created: bool


def trigger_key(request: TriggerCommand) -> str:
    """What makes a trigger the same trigger again: its idempotency key, else its content."""
    if request.idempotency_key:
        return f"{request.survey}\x1fkey\x1f{request.idempotency_key}"
    content = json.dumps(request.properties or {}, sort_keys=True, default=str)
    return f"{request.survey}\x1f{request.contact.external_id}\x1f{content}"


async def create_invitation(
    uow: UnitOfWork,
    request: TriggerCommand,
    *,
    now: datetime,
    channels: Sequence[ChannelInfo],
) -> TriggerResult:
    """Decide and record one trigger inside the caller's transaction (the caller commits)."""
    row = await uow.surveys.get_by_key(request.survey)
    if row is None:
        raise NotFound(f"survey {request.survey!r} does not exist", field="survey")
    survey = to_domain(row)
    # The upsert locks the contact row: concurrent triggers for one contact queue up here,
    # so the throttle check below sees the invitation the other one created.
    contact = await uow.contacts.upsert(
        request.contact.external_id, request.contact.fields(), request.contact.properties
    )
    if request.idempotency_key:
        existing = await uow.invitations.get_by_idempotency_key(request.idempotency_key)
        if existing is not None:
            return TriggerResult(existing, created=False)
    contact_id = contact.id or 0
    opted = await uow.opt_outs.channels_of(contact_id)
    chosen = decisions.choose_channel(contact, channels, opted_out=opted, requested=request.channel)
    if isinstance(chosen, decisions.Unreachable):
        raise _unreachable(request, chosen)
    since = throttle_start(now, survey.throttle_days)
    decided = decisions.plan(
        survey,
        chosen,
        wanted_at=now + timedelta(seconds=request.delay_seconds),
        zone=decisions.zone_of(contact.timezone, survey.timezone),
        opted_out=chosen.name in opted,
        surveyed=since is not None and await uow.invitations.surveyed_since(contact_id, since),
        sample_key=trigger_key(request),
    )
    invitation = Invitation(
        survey_id=row.id or 0,
        contact_id=contact_id,
        channel=chosen.name,
        status=decided.status,
        skip_reason=decided.reason,
        send_at=decided.send_at,
        locale=contact.locale,
        properties=dict(request.properties or {}),
        idempotency_key=request.idempotency_key,
        created_at=now,
        updated_at=now,
    )
    await uow.invitations.add(invitation)
    return TriggerResult(invitation, created=True)


def _unreachable(request: TriggerCommand, why: decisions.Unreachable) -> Unprocessable:
    if why.reason == decisions.NOT_ON:
        return Unprocessable(
            f"the {request.channel} channel is not configured on this server", field="channel"
        )
    if why.channel is not None:
        return Unprocessable(
            f"the contact has no {why.channel.address} to reach them on {why.channel.name}",
            field=f"contact.{why.channel.address}",
        )
    return Unprocessable("no channel on this server reaches the contact", field="contact")


async def trigger(
    sessions: async_sessionmaker[AsyncSession],
    request: TriggerCommand,
    *,
    now: datetime,
    channels: Sequence[ChannelInfo],
) -> TriggerResult:
    """Run one trigger in its own transaction; a replayed idempotency key returns the first."""
    try:
        async with UnitOfWork(sessions) as uow:
            result = await create_invitation(uow, request, now=now, channels=channels)
            await uow.commit()
            return result
    except IntegrityError:
        # Two requests with one idempotency key raced past the look-up: the loser reads the winner.
        if not request.idempotency_key:
            raise
        async with UnitOfWork(sessions) as uow:
            existing = await uow.invitations.get_by_idempotency_key(request.idempotency_key)
            if existing is None:
                raise
            return TriggerResult(existing, created=False)
