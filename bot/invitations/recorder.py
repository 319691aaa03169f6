"""Writing an invitation's moves in the caller's transaction: the one place an invitation changes.

Moves come from `bot.invitations.lifecycle`; the events a move announces (`response.created`,
`invitation.failed`, …) are handed to the unit of work, which writes them to the outbox with the
same commit as the change they describe: a change that rolls back announces nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.invitations import lifecycle
from bot.invitations.lifecycle import CONTACT_OPTED_OUT, Move
from storage.models import Invitation, Response
from storage.repositories.events import Announced
from storage.uow import UnitOfWork


async def record(
    uow: UnitOfWork,
    target: Invitation | str,
    move: Move,
    *,
    at: datetime,
    response: Response | None = None,
) -> bool:
    """Apply `move` to a loaded (locked) invitation or, by id, in the database; whether it moved.

    The move's events are announced (written with the commit) only when it moved; `response`
    is the conversation's response, when the caller holds it.
    """
    if isinstance(target, Invitation):
        if not move.allowed_from(target.status):
            return False
        for name, value in move.values.items():
            setattr(target, name, value)
        _announce(uow, move, at, target.id, target, response)
        return True
    moved = await uow.invitations.transition(target, move.sources, **move.values)
    if moved:
        _announce(uow, move, at, target, None, response)
    return moved


async def record_many(uow: UnitOfWork, moves: Sequence[tuple[str, Move]], *, at: datetime) -> None:
    """Apply many moves by id, one round trip per kind of move (the outbox's chunk results)."""
    kinds: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[dict[str, object]]] = {}
    for invitation_id, move in moves:
        kind = (move.name, move.sources, tuple(move.values))
        kinds.setdefault(kind, []).append({"id": invitation_id, **move.values})
        if move.events:  # the outbox's sends announce nothing today; keep them honest if so
            _announce(uow, move, at, invitation_id, None, None)
    for (_, sources, _), rows in kinds.items():
        await uow.invitations.update_many(rows, sources)


def _announce(
    uow: UnitOfWork,
    move: Move,
    at: datetime,
    invitation_id: str,
    invitation: Invitation | None,
    response: Response | None,
) -> None:
    extra: dict[str, Any] = {}
    if invitation is not None:
        extra = {"survey_id": invitation.survey_id, "contact_id": invitation.contact_id}
    for event in move.events:
        uow.announce(
            Announced(
                type=event,
                occurred_at=at,
                invitation_id=invitation_id,
                response=response if event.startswith("response.") else None,
                **extra,
            )
        )


async def opt_out(
    uow: UnitOfWork,
    contact_id: int,
    channel: str,
    *,
    source: str,
    now: datetime,
    conversation: Invitation | None = None,
) -> Invitation | None:
    """Record the contact's wish not to be surveyed on `channel`, and end the conversation open
    there (`conversation` when the caller holds it, else the newest on the channel).

    Returns the invitation whose conversation it ended, if any.
    """
    await uow.opt_outs.add(contact_id, channel, source=source)
    announce_opt_out(uow, contact_id, channel, source=source, now=now)
    if conversation is None:
        conversation = await uow.invitations.latest_open(contact_id, channel, lock=True)
    if conversation is None:
        return None
    move = lifecycle.closed_by_opt_out(conversation)
    if move is None or not await record(uow, conversation, move, at=now):
        return None
    conversation.updated_at = now
    return conversation


async def opt_in(uow: UnitOfWork, contact_id: int, channel: str) -> bool:
    """Lift the contact's opt-out on `channel`; whether there was one."""
    return await uow.opt_outs.remove(contact_id, channel)


def announce_opt_out(
    uow: UnitOfWork, contact_id: int, channel: str, *, source: str, now: datetime
) -> None:
    """Announce `contact.opted_out` (with the channel and why) in the caller's transaction."""
    uow.announce(
        Announced(
            type=CONTACT_OPTED_OUT,
            occurred_at=now,
            contact_id=contact_id,
            data={"channel": channel, "source": source},
        )
    )
