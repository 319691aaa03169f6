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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import policy
from bot.events.payloads import Subject
from bot.events.routing import subject_of
from bot.ticking import Ticker
from storage.outbound import Delivery, DeliveryStatus
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


class Sender(Protocol):
    """Sends one kind of delivery (webhook:…, alert:…, zendesk)."""

    async def body(self, uow: UnitOfWork, delivery: Delivery, subject: Subject) -> str | None:
        """The text to send, built once; None drops the delivery (its target is gone)."""

    async def send(self, delivery: Delivery, payload: str) -> Attempt:
        """One attempt."""

    async def settled(
        self, uow: UnitOfWork, delivery: Delivery, verdict: policy.Verdict, now: datetime
    ) -> None:
        """After an attempt is recorded (in its transaction): bookkeeping of the target."""


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
        """Claim and send one batch of due deliveries; how many were claimed."""
        now = self.clock()
        lease_until = now + self.lease
        async with UnitOfWork(self.sessions) as uow:
            claimed = await uow.deliveries.claim(now, lease_until, BATCH)
            ready = await self._bodies(uow, claimed, now)
            await uow.commit()
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(delivery: Delivery) -> None:
            async with limit:
                await self._attempt(delivery, lease_until)

        await asyncio.gather(*(one(d) for d in ready))
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
            ready = await self._bodies(uow, [delivery], now)
            await uow.commit()
        for item in ready:
            await self._attempt(item, lease_until)
        async with UnitOfWork(self.sessions) as uow:
            return await uow.deliveries.get(delivery_id)

    async def _bodies(
        self, uow: UnitOfWork, claimed: list[Delivery], now: datetime
    ) -> list[Delivery]:
        """Fix the body of each first attempt (stored with the claim); drop what has no target."""
        fresh = [d for d in claimed if d.payload is None]
        ready = [d for d in claimed if d.payload is not None]
        if fresh:
            events = {e.id: e for e in [await uow.events.get(d.event_id) for d in fresh] if e}
            found = await rows_of(uow.session, list(events.values()))
            for delivery in fresh:
                event = events.get(delivery.event_id)
                sender = self.senders.get(delivery.target.split(":", 1)[0])
                body = None
                if event is not None and sender is not None:
                    subject = subject_of(event, found[event.id or 0])
                    body = await sender.body(uow, delivery, subject)
                if body is None:
                    await uow.deliveries.settle(
                        delivery.id or 0,
                        delivery.lease_until or now,
                        status=DeliveryStatus.DROPPED,
                        finished_at=now,
                        last_error="its target no longer exists",
                    )
                    continue
                delivery.payload = body
                delivery.first_attempt_at = now
                await uow.deliveries.fix_body(delivery.id or 0, body, now)
                ready.append(delivery)
        return ready

    async def _attempt(self, delivery: Delivery, lease_until: datetime) -> None:
        sender = self.senders[delivery.target.split(":", 1)[0]]
        assert delivery.payload is not None
        try:
            attempt = await sender.send(delivery, delivery.payload)
        except Exception as exc:  # a sender's bug must not lose the delivery: retried
            log.exception("delivery %s: the sender failed", delivery.id)
            attempt = Attempt(status=None, error=f"{type(exc).__name__}")
        now = self.clock()
        attempts = delivery.attempts + 1
        verdict = policy.verdict(
            attempt.status,
            attempts=attempts,
            first_attempt_at=delivery.first_attempt_at or now,
            now=now,
            retry_after=attempt.retry_after,
            error=attempt.error,
        )
        values: dict[str, object] = {
            "attempts": attempts,
            "last_status": attempt.status,
            "last_error": None if verdict.delivered else (verdict.reason or "")[:500],
        }
        if attempt.drop:
            verdict = policy.Verdict(delivered=False, retry_at=None, reason=attempt.error)
            values.update(status=DeliveryStatus.DROPPED, finished_at=now, last_error=attempt.error)
        elif verdict.delivered:
            values.update(status=DeliveryStatus.DELIVERED, finished_at=now)
        elif verdict.failed:
            values.update(status=DeliveryStatus.FAILED, finished_at=now)
        else:
            values.update(next_attempt_at=verdict.retry_at)
        async with UnitOfWork(self.sessions) as uow:
            if await uow.deliveries.settle(delivery.id or 0, lease_until, **values):
                if not attempt.drop:
                    await sender.settled(uow, delivery, verdict, now)
                await uow.commit()
            else:  # the lease ran out meanwhile: another process owns the delivery now
                log.warning("delivery %s: lease lost before its result was recorded", delivery.id)
        if not verdict.delivered:
            log.info(
                "delivery %s to %s: %s%s",
                delivery.id,
                delivery.target,
                verdict.reason,
                "" if verdict.failed else f"; retry at {verdict.retry_at}",
            )
