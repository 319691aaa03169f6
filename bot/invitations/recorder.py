"""Writing an invitation's moves in the caller's transaction: the one place an invitation changes.

Moves come from `bot.invitations.lifecycle`; when the outbox of events lands, a move's events are
written here too, in the same transaction as the change they describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.invitations import lifecycle
from bot.invitations.lifecycle import Move
from storage.models import Invitation
from storage.uow import UnitOfWork


async def record(uow: UnitOfWork, target: Invitation | str, move: Move) -> bool:
    """Apply `move` to a loaded (locked) invitation or, by id, in the database; whether it moved."""
    if isinstance(target, Invitation):
        if not move.allowed_from(target.status):
            return False
        for name, value in move.values.items():
            setattr(target, name, value)
        return True
    return await uow.invitations.transition(target, move.sources, **move.values)


async def record_many(uow: UnitOfWork, moves: Sequence[tuple[str, Move]]) -> None:
    """Apply many moves by id, one round trip per kind of move (the outbox's chunk results)."""
    kinds: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[dict[str, object]]] = {}
    for invitation_id, move in moves:
        kind = (move.name, move.sources, tuple(move.values))
        kinds.setdefault(kind, []).append({"id": invitation_id, **move.values})
    for (_, sources, _), rows in kinds.items():
        await uow.invitations.update_many(rows, sources)


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
    if conversation is None:
        conversation = await uow.invitations.latest_open(contact_id, channel, lock=True)
    if conversation is None:
        return None
    move = lifecycle.closed_by_opt_out(conversation)
    if move is None or not await record(uow, conversation, move):
        return None
    conversation.updated_at = now
    return conversation


async def opt_in(uow: UnitOfWork, contact_id: int, channel: str) -> bool:
    """Lift the contact's opt-out on `channel`; whether there was one."""
    return await uow.opt_outs.remove(contact_id, channel)
