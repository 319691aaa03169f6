"""The router: gives each new event one delivery per consumer that wants it.

Consumers are the webhook subscriptions (and, plugged in beside them, alert rules and help-desk
write-back). Routing runs in every serve and worker process; on PostgreSQL the events are claimed
with SKIP LOCKED, and a delivery is unique per (target, event), so routing twice adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events.matching import wants
from bot.events.payloads import Subject
from bot.ticking import Ticker
from storage.outbound import DeliveryStatus
from storage.repositories.events import rows_of
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

BATCH = 500
# Delivered, failed and dropped deliveries (and their events) are kept this long for the log.
KEEP = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Planned:
    """A delivery to make: to `target` (webhook:<id>, alert:<id>, zendesk), due at `due_at`."""

    target: str
    due_at: datetime
    webhook_id: str | None = None


class Consumer(Protocol):
    """Something that receives events: it says which deliveries an event needs."""

    async def prepare(self, uow: UnitOfWork) -> None:
        """Load what it needs for a batch (its subscriptions, its rules)."""

    def plan(self, subject: Subject, now: datetime) -> list[Planned]:
        """The deliveries this event needs (none, usually)."""


class Subscriptions:
    """The webhook subscriptions as a consumer: each active one that wants the event."""

    def __init__(self) -> None:
        self._hooks: list[Any] = []

    async def prepare(self, uow: UnitOfWork) -> None:
        self._hooks = await uow.webhooks.active()

    def plan(self, subject: Subject, now: datetime) -> list[Planned]:
        return [
            Planned(target=f"webhook:{hook.id}", due_at=now, webhook_id=hook.id)
            for hook in self._hooks
            if wants(hook.events, hook.filters, subject)
        ]


def subject_of(event: Any, rows: Any) -> Subject:
    return Subject(
        event=event,
        survey=rows.survey,
        invitation=rows.invitation,
        response=rows.response,
        contact=rows.contact,
    )


@dataclass
class Router:
    """Routes events in the background (every `interval` seconds, or when woken)."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    consumers: Sequence[Consumer]
    interval: float = 1.0
    _pruned_at: datetime | None = None

    def __post_init__(self) -> None:
        self._ticker = Ticker("routing events", self.interval, log)

    def wake(self) -> None:
        self._ticker.wake()

    async def run(self) -> None:
        await self._ticker.run(self._tick)

    async def _tick(self) -> None:
        while await self.route() == BATCH:
            pass
        await self._prune()

    async def route(self) -> int:
        """Route one batch of events; how many were routed."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            events = await uow.events.unrouted(BATCH)
            if not events:
                return 0
            for consumer in self.consumers:
                await consumer.prepare(uow)
            found = await rows_of(uow.session, events)
            rows: list[dict[str, Any]] = []
            for event in events:
                subject = subject_of(event, found[event.id or 0])
                contact_id = subject.contact.id if subject.contact is not None else None
                for consumer in self.consumers:
                    for planned in consumer.plan(subject, now):
                        rows.append(
                            {
                                "target": planned.target,
                                "webhook_id": planned.webhook_id,
                                "event_id": event.id,
                                "contact_id": contact_id,
                                "status": DeliveryStatus.PENDING,
                                "attempts": 0,
                                "next_attempt_at": planned.due_at,
                                "created_at": now,
                            }
                        )
            await uow.deliveries.add_many(rows)
            await uow.events.mark_routed([e.id for e in events if e.id is not None])
            await uow.commit()
        if rows:
            log.info("routed %d events into %d deliveries", len(events), len(rows))
        return len(events)

    async def _prune(self) -> None:
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with UnitOfWork(self.sessions) as uow:
            deliveries = await uow.deliveries.prune(now - KEEP)
            events = await uow.events.prune(now - KEEP)
            await uow.commit()
        if deliveries or events:
            log.info("pruned %d old deliveries and %d old events", deliveries, events)
