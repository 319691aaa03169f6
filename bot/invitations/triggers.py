"""Turning a trigger into an invitation: contact upsert, channel choice, eligibility, idempotency."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.schemas import ContactIn, Properties
from bot.errors import Conflict, NotFound, Unprocessable
from bot.invitations import decisions
from bot.invitations.suppression import Suppressions
from bot.invitations.tickets import check_ticket_property
from channels.base import ChannelInfo
from storage.models import Invitation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys import placeholders
from surveys.eligibility import throttle_start


@dataclass(frozen=True, slots=True)
class TriggerCommand:
    """Ask one survey of one contact, now or after a delay (from the API, a webhook or a test)."""

    survey: str
    contact: ContactIn
    # Who asks (api_caller, webhook_caller, ZENDESK): idempotency keys are theirs alone.
    caller: str
    channel: str | None = None
    # A fallback order of its own instead of the survey's (never with `channel`).
    channels: tuple[str, ...] | None = None
    delay_seconds: int = 0
    properties: Properties = field(default_factory=dict)
    idempotency_key: str | None = None
    # The key names an outside event (a Zendesk ticket), not one request: when the event comes
    # again with other details, it is still the same event and gets the first invitation back.
    key_names_event: bool = False


@dataclass(frozen=True, slots=True)
class TriggerResult:
    invitation: Invitation
    created: bool


ZENDESK = "zendesk"


def api_caller(api_key_id: int | None) -> str:
    """The caller an API key is."""
    return f"api_key:{api_key_id}"


def webhook_caller(source: str) -> str:
    """The caller a generic webhook source is (quoted: a source name may hold any character)."""
    name = quote(source, safe="")
    if len(name) > 64:
        # Keeps the scoped key within its column whatever the operator named the source.
        name = "sha256-" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return f"webhook:{name}"


def scoped_key(caller: str, survey: str, key: str) -> str:
    """The stored form of a caller's idempotency key for one survey.

    Neither the caller nor a survey key holds a space, so two different triples never give one
    string; campaign keys (bot.campaigns.runs) hold no space, so they never meet these.
    """
    return f"{caller} {survey} {key}"


def request_hash(request: TriggerCommand) -> str:
    """SHA-256 of what the trigger asks for, as validated (so `null` and an omitted field agree)."""
    contact = {
        "external_id": request.contact.external_id,
        **request.contact.fields(),
        "properties": request.contact.properties or {},
    }
    content: dict[str, Any] = {
        "survey": request.survey,
        "contact": contact,
        "channel": request.channel,
        "delay_seconds": request.delay_seconds,
        "properties": request.properties or {},
    }
    if request.channels is not None:  # absent otherwise: the hashes stored before still match
        content["channels"] = list(request.channels)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


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
    suppression: Suppressions,
) -> TriggerResult:
    """Decide and record one trigger inside the caller's transaction (the caller commits)."""
    row = await uow.surveys.get_by_key(request.survey)
    if row is None:
        raise NotFound(f"survey {request.survey!r} does not exist", field="survey")
    if row.archived_at is not None:
        raise Conflict(
            f"survey {request.survey!r} is archived and takes no new triggers"
            " (un-archive it to send it again)",
            field="survey",
        )
    survey = to_domain(row)
    check_ticket_property(request.properties)
    _check_order(request, channels)
    order = decisions.fallback_order(survey, requested=request.channel, channels=request.channels)
    key = _stored_key(request)
    if key is not None:
        # Before the upsert: a replay must change nothing, not even the contact.
        existing = await uow.invitations.get_by_idempotency_key(key)
        if existing is not None:
            return _replayed(request, existing)
    # The upsert locks the contact row: concurrent triggers for one contact queue up here,
    # so the throttle check below sees the invitation the other one created.
    contact = await uow.contacts.upsert(
        request.contact.external_id, request.contact.fields(), request.contact.properties
    )
    contact_id = contact.id or 0
    opted = await uow.opt_outs.channels_of(contact_id)
    # An erased contact's opt-out holds for whoever gives the same address again.
    opted |= await suppression.channels_of(uow, contact, channels)
    chosen = decisions.choose_channel(
        contact, channels, opted_out=opted, requested=request.channel, order=order
    )
    if isinstance(chosen, decisions.Unreachable):
        raise _unreachable(request, chosen, order)
    missing = placeholders.unfilled(
        survey, contact=contact.properties, trigger=request.properties, name=contact.name
    )
    if missing:  # the customer would see a raw "{agent}": refused (the upsert rolls back)
        raise Unprocessable(placeholders.explain(survey, missing), field=f"properties.{missing[0]}")
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
        channels=order,
        status=decided.status,
        skip_reason=decided.reason,
        send_at=decided.send_at,
        locale=contact.locale,
        properties=dict(request.properties or {}),
        idempotency_key=key,
        request_hash=request_hash(request) if key is not None else None,
        created_at=now,
        updated_at=now,
    )
    await uow.invitations.add(invitation)
    return TriggerResult(invitation, created=True)


def _stored_key(request: TriggerCommand) -> str | None:
    if not request.idempotency_key:
        return None
    return scoped_key(request.caller, request.survey, request.idempotency_key)


def _replayed(request: TriggerCommand, existing: Invitation) -> TriggerResult:
    """The first invitation for a replay; a different request under a used key is refused."""
    if request.key_names_event or existing.request_hash == request_hash(request):
        return TriggerResult(existing, created=False)
    raise Conflict(
        f"the idempotency_key {request.idempotency_key!r} was already used for a different "
        "trigger of this survey; send a new key for a new trigger",
        field="idempotency_key",
    )


def _check_order(request: TriggerCommand, channels: Sequence[ChannelInfo]) -> None:
    """Refuse a trigger's own order naming a channel that is off here (422 naming `channels`)."""
    if request.channels is None:
        return
    on = {info.name for info in channels}
    off = [name for name in request.channels if name not in on]
    if off:
        listed = ", ".join(off)
        raise Unprocessable(
            f"channels: {listed} {'is' if len(off) == 1 else 'are'} not configured on this server",
            field="channels",
        )


def _unreachable(
    request: TriggerCommand, why: decisions.Unreachable, order: Sequence[str] | None = None
) -> Unprocessable:
    if why.reason == decisions.NOT_ON and order is not None:
        return Unprocessable(
            f"none of the survey's channels ({', '.join(order)}) is configured on this server",
            field="survey",
        )
    if why.reason == decisions.NOT_ON:
        return Unprocessable(
            f"the {request.channel} channel is not configured on this server", field="channel"
        )
    if why.channel is not None:
        return Unprocessable(
            f"the contact has no {why.channel.address} to reach them on {why.channel.name}",
            field=f"contact.{why.channel.address}",
        )
    if order is not None:
        return Unprocessable(
            f"no channel of the fallback order ({', '.join(order)}) reaches the contact",
            field="contact",
        )
    return Unprocessable("no channel on this server reaches the contact", field="contact")


async def trigger(
    sessions: async_sessionmaker[AsyncSession],
    request: TriggerCommand,
    *,
    now: datetime,
    channels: Sequence[ChannelInfo],
    suppression: Suppressions,
) -> TriggerResult:
    """Run one trigger in its own transaction; a replayed idempotency key returns the first
    invitation, the key with a different request is a Conflict."""
    try:
        async with UnitOfWork(sessions) as uow:
            result = await create_invitation(
                uow, request, now=now, channels=channels, suppression=suppression
            )
            await uow.commit()
            return result
    except IntegrityError:
        # Two requests with one idempotency key raced past the look-up: the loser (rolled back,
        # its contact upsert with it) answers as a replay of the winner would.
        key = _stored_key(request)
        if key is None:
            raise
        async with UnitOfWork(sessions) as uow:
            existing = await uow.invitations.get_by_idempotency_key(key)
        if existing is None:
            raise
        return _replayed(request, existing)
