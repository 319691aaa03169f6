"""The composition root: builds and wires engine, sessions, channels, conversation and dispatcher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.conversation.engine import ConversationEngine
from bot.delivery.outbox import Dispatcher
from bot.runtime.settings import Settings
from bot.wiring import all_wirings
from bot.wiring.base import ChannelWiring
from channels.base import Channel, OutboundMessage
from channels.web import ChatLinks, WebChannel
from storage.database import create_engine, read_session_factory, session_factory
from storage.migrate import upgrade
from storage.records import InvitationView
from storage.secrets import instance_secret
from storage.uow import UnitOfWork
from surveys.definitions import Survey, SurveyFile

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
    conversation: ConversationEngine
    dispatcher: Dispatcher
    clock: Callable[[], datetime]
    secret: str = ""
    wirings: dict[str, ChannelWiring] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    dispatching: asyncio.Task[None] | None = None

    @property
    def channels_on(self) -> set[str]:
        return set(self.channels)

    def link_max_age(self) -> int:
        # Links stay readable while any invitation could still be open: delay cap + lifetime.
        return 90 * 24 * 3600 + self.settings.invitation_ttl_hours * 3600

    async def start_channels(self) -> None:
        for channel in self.channels.values():
            await channel.start()

    async def start_background(self, *, channel_tasks: bool = True) -> None:
        """Start the dispatcher, the campaign scheduler and the channels' own loops."""
        # Imported here: campaign runs use the trigger rules, which need Services.
        from bot.campaigns.scheduler import CampaignScheduler, default_holder

        self.dispatching = self._spawn(self.dispatcher.run(), "dispatcher")
        if self.settings.scheduler:
            # Every process competes for the database lease; one at a time schedules.
            scheduler = CampaignScheduler(
                sessions=self.sessions,
                clock=self.clock,
                channels_on=self.channels_on,
                holder=default_holder(),
            )
            self._spawn(scheduler.run(), "scheduler")
        if channel_tasks:
            for name, wiring in self.wirings.items():
                self._spawn(wiring.run(self, self.channels[name]), f"channel-{name}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        # Let the sends in flight finish and be recorded (they time out at half the lease),
        # so a restart leaves nothing `interrupted`.
        self.dispatcher.stop()
        if self.dispatching is not None and not self.dispatching.done():
            await asyncio.wait({self.dispatching}, timeout=self.settings.lease_seconds / 2 + 1)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for channel in self.channels.values():
            await channel.close()
        await self.engine.dispose()


async def open_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Connect and bring the schema up to date."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    return engine, session_factory(engine)


async def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    channels: dict[str, Channel] | None = None,
) -> Services:
    engine, sessions = await open_database(settings)
    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else await instance_secret(sessions, "link-signing")
    )
    links = ChatLinks(secret=secret, base_url=settings.base_url())
    all_channels: dict[str, Channel] = {"web": WebChannel()}
    wirings: dict[str, ChannelWiring] = {}
    for wiring in all_wirings():
        if wiring.configured(settings):
            all_channels[wiring.name] = wiring.build(settings, secret=secret)
            wirings[wiring.name] = wiring
    all_channels.update(channels or {})

    def prepare(message: OutboundMessage, invitation: InvitationView) -> OutboundMessage:
        """Finish a rendered question for its channel: the chat link, or the wiring's additions."""
        if invitation.channel == "web":
            return replace(message, link=links.url(invitation.id))
        wiring = wirings.get(invitation.channel)
        if wiring is None:
            return message
        return wiring.prepare(message, invitation, settings=settings, secret=secret)

    dispatcher = Dispatcher(
        sessions=sessions,
        channels=all_channels,
        clock=clock,
        prepare=prepare,
        invitation_ttl=timedelta(hours=settings.invitation_ttl_hours),
        interval_seconds=settings.dispatch_interval_seconds,
        batch_size=settings.dispatch_batch_size,
        concurrency=settings.dispatch_concurrency,
        lease_seconds=settings.lease_seconds,
        max_attempts=settings.max_send_attempts,
        retry_base_seconds=settings.retry_base_seconds,
        rate_limits=settings.rate_limits(),
    )
    conversation = ConversationEngine(
        sessions=sessions, clock=clock, max_reprompts=settings.max_reprompts
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=read_session_factory(engine),
        links=links,
        channels=all_channels,
        conversation=conversation,
        dispatcher=dispatcher,
        clock=clock,
        secret=secret,
        wirings=wirings,
    )
    if settings.surveys_file is not None:
        await load_surveys(sessions, read_survey_file(settings.surveys_file))
    return services


class SurveyFileError(Exception):
    """Raised when a survey YAML file cannot be read or does not have the survey shape."""


def read_survey_file(path: Path) -> list[Survey]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyFileError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SurveyFileError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return SurveyFile.model_validate(data).surveys
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SurveyFileError(f"{path}: {problems}") from exc


async def load_surveys(
    sessions: async_sessionmaker[AsyncSession], surveys: list[Survey]
) -> list[tuple[str, bool]]:
    """Create or update surveys in one transaction; returns (key, created) per survey."""
    async with UnitOfWork(sessions) as uow:
        results = []
        for survey in surveys:
            _, created = await uow.surveys.upsert(survey)
            results.append((survey.key, created))
        await uow.commit()
    return results
