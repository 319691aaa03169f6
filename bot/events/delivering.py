"""The deliverer: claims due deliveries under a lease, sends them, records each attempt.

It runs beside the outbox sender in every serve and worker process, in its own task with its
own HTTP client, so a slow endpoint holds up only its own deliveries (each attempt times out),
never a survey send. A delivery's body is fixed at its first attempt and stored with the claim,
so a worker killed mid-delivery leaves a delivery whose lease runs out and that another process
sends again: the same bytes, under the same event id (at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import policy
from bot.events.payloads import Subject
from bot.events.routing import subject_of
from bot.ticking import Ticker
from storage.outbound import Delivery, DeliveryStatus, Webhook
from storage.repositories.events import rows_of
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

BATCH = 50
CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try gave: the HTTP status (None: no answer), an error, a Retry-After."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None
    # The target is gone (a subscription switched off or removed): dropped, not retried.
    drop: bool = False


@dataclass(slots=True)
class Due:
    """A claimed delivery ready for an attempt, with what was read for it at the claim."""

    delivery: Delivery
    payload: str
    event_uid: str
    # The subscription it goes to, if any, as it stood at the claim (None: gone or not one).
    webhook: Webhook | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """An attempt's result as recorded: the verdict and whether the delivery was dropped."""

    due: Due
    verdict: policy.Verdict
    dropped: bool


class Sender(Protocol):
    """Sends one kind of delivery (webhook:…, alert:…, zendesk)."""

    async def body(self, uow: UnitOfWork, delivery: Delivery, subject: Subject) -> str | None:
        """The text to send, built once; None drops the delivery (its target is gone)."""

    async def send(self, due: Due) -> Attempt:
        """One attempt."""

    async def settled(self, uow: UnitOfWork, outcomes: Sequence[Outcome], now: datetime) -> None:
        """After a batch's attempts are recorded (in their transaction): the targets' books."""


@dataclass
class Deliverer:
    """Sends due deliveries in the background (every `interval` seconds, or when woken)."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    senders: Mapping[str, Sender]
    interval: float = 1.0
    lease: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        self._ticker = Ticker("delivering events", self.interval, log)

    def wake(self) -> None:
        self._ticker.wake()

    async def run(self) -> None:
        await self._ticker.run(self._tick)

    async def _tick(self) -> None:
        while await self.send_due() == BATCH:
            pass

    async def send_due(self) -> int:
        """Claim and send one batch of due deliveries; how many were claimed.

        The batch is read in one transaction and its results written in one more, so a
        delivery costs the database a share of two transactions, not three of its own.
        """
        now = self.clock()
        lease_until = now + self.lease
        async with UnitOfWork(self.sessions) as uow:
            claimed = await uow.deliveries.claim(now, lease_until, BATCH)
            ready = await self._ready(uow, claimed, now)
            await uow.commit()
        await self._attempt_all(ready, lease_until)
        return len(claimed)

    async def deliver_one(self, delivery_id: int) -> Delivery | None:
        """Send one delivery now, whatever its due time (a test, a manual resend)."""
        now = self.clock()
        lease_until = now + self.lease
        async with UnitOfWork(self.sessions) as uow:
            delivery = await uow.deliveries.get(delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return delivery
            await uow.deliveries.lease(delivery_id, lease_until)
            delivery.lease_until = lease_until
            ready = await self._ready(uow, [delivery], now)
            await uow.commit()
        await self._attempt_all(ready, lease_until)
        async with UnitOfWork(self.sessions) as uow:
            return await uow.deliveries.get(delivery_id)

    async def _ready(self, uow: UnitOfWork, claimed: list[Delivery], now: datetime) -> list[Due]:
        """Each claimed delivery with its body (fixed at the first attempt and stored with the
        claim), its event's id and its subscription; what has no target any more is dropped."""
        if not claimed:
            return []
        events = await uow.events.many({d.event_id for d in claimed})
        hooks = await uow.webhooks.many({d.webhook_id for d in claimed if d.webhook_id})
        fresh = [d for d in claimed if d.payload is None]
        found = await rows_of(
            uow.session, [events[d.event_id] for d in fresh if d.event_id in events]
        )
        ready: list[Due] = []
        bodies: list[tuple[int, str]] = []
        dropped: list[int] = []
        for delivery in claimed:
            event = events.get(delivery.event_id)
            body = delivery.payload
            if body is None and event is not None:
                sender = self.senders.get(delivery.target.split(":", 1)[0])
                if sender is not None:
                    body = await sender.body(uow, delivery, subject_of(event, found[event.id or 0]))
                if body is not None:
                    delivery.payload, delivery.first_attempt_at = body, now
                    bodies.append((delivery.id or 0, body))
            if event is None or body is None:
                dropped.append(delivery.id or 0)
                continue
            hook = hooks.get(delivery.webhook_id) if delivery.webhook_id else None
            ready.append(Due(delivery=delivery, payload=body, event_uid=event.uid, webhook=hook))
        await uow.deliveries.fix_bodies(bodies, now)
        await uow.deliveries.drop(dropped, "its target no longer exists", now)
        return ready

    async def _attempt_all(self, ready: list[Due], lease_until: datetime) -> None:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(due: Due) -> tuple[Due, Attempt]:
            async with limit:
                return due, await self._try(due)

        if ready:
            await self._record(await asyncio.gather(*(one(d) for d in ready)), lease_until)

    async def _try(self, due: Due) -> Attempt:
        sender = self.senders[due.delivery.target.split(":", 1)[0]]
        try:
            return await sender.send(due)
        except Exception as exc:  # a sender's bug must not lose the delivery: retried
            log.exception("delivery %s: the sender failed", due.delivery.id)
            return Attempt(status=None, error=f"{type(exc).__name__}")

    async def _record(self, tried: list[tuple[Due, Attempt]], lease_until: datetime) -> None:
        """Write the batch's results, those whose lease still holds, in one transaction."""
        now = self.clock()
        outcomes: list[Outcome] = []
        rows: list[dict[str, Any]] = []
        for due, attempt in tried:
            outcome, row = self._result(due, attempt, now)
            outcomes.append(outcome)
            rows.append(row)
        async with UnitOfWork(self.sessions) as uow:
            held = await uow.deliveries.settle_many(rows, lease_until)
            kept = [o for o in outcomes if (o.due.delivery.id or 0) in held]
            for prefix, sender in self.senders.items():
                mine = [
                    o
                    for o in kept
                    if not o.dropped and o.due.delivery.target.split(":", 1)[0] == prefix
                ]
                if mine:
                    await sender.settled(uow, mine, now)
            await uow.commit()
        for outcome in outcomes:
            delivery, verdict = outcome.due.delivery, outcome.verdict
            if (delivery.id or 0) not in held:  # the lease ran out: another process owns it now
                log.warning("delivery %s: lease lost before its result was recorded", delivery.id)
            elif not verdict.delivered:
                log.info(
                    "delivery %s to %s: %s%s",
                    delivery.id,
                    delivery.target,
                    verdict.reason,
                    "" if verdict.failed else f"; retry at {verdict.retry_at}",
                )

    def _result(self, due: Due, attempt: Attempt, now: datetime) -> tuple[Outcome, dict[str, Any]]:
        """The verdict on one attempt and the row it leaves (every column, so that a batch's
        rows can be written by one statement)."""
        delivery = due.delivery
        attempts = delivery.attempts + 1
        verdict = policy.verdict(
            attempt.status,
            attempts=attempts,
            first_attempt_at=delivery.first_attempt_at or now,
            now=now,
            retry_after=attempt.retry_after,
            error=attempt.error,
        )
        row: dict[str, Any] = {
            "id": delivery.id or 0,
            "attempts": attempts,
            "last_status": attempt.status,
            "last_error": None if verdict.delivered else (verdict.reason or "")[:500],
            "status": DeliveryStatus.PENDING,
            "finished_at": None,
            "next_attempt_at": delivery.next_attempt_at,
        }
        if attempt.drop:
            verdict = policy.Verdict(delivered=False, retry_at=None, reason=attempt.error)
            row.update(status=DeliveryStatus.DROPPED, finished_at=now, last_error=attempt.error)
        elif verdict.delivered:
            row.update(status=DeliveryStatus.DELIVERED, finished_at=now)
        elif verdict.failed:
            row.update(status=DeliveryStatus.FAILED, finished_at=now)
        else:
            row.update(next_attempt_at=verdict.retry_at)
        return Outcome(due=due, verdict=verdict, dropped=attempt.drop), row
