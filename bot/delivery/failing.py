"""What becomes of a send its channel cannot make: the next channel of the order, or the end.

Shared by the outbox's check before a send (no address, opted out since, channel off) and the
results of sends (a refusal, retries run out). bot.invitations.fallback records the failure and
finds the next channel; without one, the send ends as it always did.
"""

from __future__ import annotations

from datetime import datetime

from bot.delivery.jobs import Job
from bot.invitations import fallback as fb
from bot.invitations import lifecycle
from bot.invitations.fallback import Failure, Fallback
from bot.invitations.lifecycle import Move
from storage.uow import UnitOfWork

# Failures the provider told of: a reminder dropped for one of these keeps it in `last_error`.
_PROVIDER = (fb.REFUSED, fb.GAVE_UP, fb.UNDELIVERED)


async def failed_send(
    uow: UnitOfWork, fallback: Fallback, job: Job, failure: Failure, now: datetime
) -> Move:
    """Record the failure; the move to the next channel, or the one that ends the send.

    A question with no channel left fails (announcing `invitation.failed`), or is cancelled
    when the contact opted out of its channel since the trigger; a reminder is dropped.
    """
    invitation = job.invitation
    if job.reminder:
        moved = await fallback.reminder_failed(
            uow,
            job.id,
            order=invitation.channels,
            current=invitation.channel,
            contact=job.contact,
            failure=failure,
            now=now,
        )
        if moved is not None:
            return moved
        error = failure.error if failure.reason in _PROVIDER else None
        return lifecycle.reminder_moved(now, at=None, error=error)
    moved = await fallback.question_failed(
        uow,
        job.id,
        order=invitation.channels,
        contact=job.contact,
        survey=job.survey,
        failure=failure,
        now=now,
    )
    if moved is not None:
        return moved
    if failure.reason == fb.OPTED_OUT:
        return lifecycle.cancelled(now, reason="opted_out", sending=True)
    # With an order, which channel failed last is worth saying; without one it is the channel.
    error = failure.summary() if invitation.channels else failure.error
    return lifecycle.failed(now, error)
