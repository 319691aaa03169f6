"""The service container: everything a running surveybot holds (built once by `bot.startup`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.conversation.engine import ConversationEngine
from bot.delivery.outbox import OutboxSender
from bot.invitations.suppression import Suppressions
from bot.runtime.settings import Settings
from channels.base import Channel, ChannelInfo
from channels.web import ChatLinks

log = logging.getLogger("bot")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a running surveybot holds; created in the app's lifespan, never at import."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    links: ChatLinks
    channels: dict[str, Channel]
    # The descriptions of the channels that are on, best first (the order a channel is chosen in).
    catalog: tuple[ChannelInfo, ...]
    conversation: ConversationEngine
    outbox: OutboxSender
    clock: Callable[[], datetime]
    secret: str = ""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    sending: asyncio.Task[None] | None = None  # the outbox's loop, once started
    # Closed after the background tasks stop (the webhook deliverer's HTTP client).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def channels_on(self) -> set[str]:
        return set(self.channels)

    @property
    def suppression(self) -> Suppressions:
        """The suppression list of erased contacts' opted-out addresses, keyed by the secret."""
        return Suppressions.keyed_by(self.secret)

    def link_max_age(self) -> int:
        # Links stay readable while any invitation could still be open: delay cap + lifetime.
        return 90 * 24 * 3600 + self.settings.invitation_ttl_hours * 3600

    async def start_channels(self) -> None:
        for channel in self.channels.values():
            await channel.start()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `work` in the background; the task is kept (no garbage collection mid-run) and
        cancelled on shutdown."""
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        # Let the sends in flight finish and be recorded (they time out at half the lease),
        # so a restart leaves nothing `interrupted`.
        self.outbox.stop()
        if self.sending is not None and not self.sending.done():
            await asyncio.wait({self.sending}, timeout=self.settings.lease_seconds / 2 + 1)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for closer in self.closers:
            await closer()
        for channel in self.channels.values():
            await channel.close()
        await self.engine.dispose()


async def get_services(request: Request) -> Services:
    """How a route reaches the running services: they hang off the app's state."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
