"""The composition root: builds and wires engine, sessions, channels, conversation and outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.engine import ConversationEngine
from bot.conversation.talk import Talk
from bot.delivery.outbox import OutboxSender
from bot.delivery.sending import Prepare
from bot.invitations.suppression import Suppressions
from bot.runtime.database import open_database
from bot.runtime.secret import secret_of
from bot.runtime.services import Services, utc_now
from bot.runtime.settings import Settings
from bot.runtime.survey_files import load_surveys, read_survey_file
from bot.wiring import registry
from bot.wiring.base import ChannelWiring
from channels.base import Channel, ChannelInfo, OutboundMessage
from channels.web import ChatLinks
from storage.database import read_session_factory
from storage.records import InvitationView


def configured_wirings(settings: Settings) -> dict[str, ChannelWiring]:
    """The wirings of the channels whose settings are present, best first."""
    return {wiring.name: wiring for wiring in registry.configured(settings)}


async def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    channels: dict[str, Channel] | None = None,
) -> Services:
    registry.check_settings(settings)
    engine, sessions = await open_database(settings)
    secret = await secret_of(settings, sessions)
    links = ChatLinks(secret=secret, base_url=settings.base_url())
    wirings = configured_wirings(settings)
    all_channels: dict[str, Channel] = {
        name: wiring.build(settings, secret=secret) for name, wiring in wirings.items()
    }
    all_channels.update(channels or {})
    # Best first; a channel handed in (tests, benchmarks) counts as on even without its settings.
    catalog = tuple(w.info for w in registry.WIRINGS if w.name in all_channels)

    def prepare(
        message: OutboundMessage, invitation: InvitationView, *, talk: Talk, in_session: bool
    ) -> OutboundMessage:
        """Finish a rendered question for its channel: links, headers, what the wiring adds,
        and outside the person's session what may go there (a template). The message's channel,
        not the invitation's: a reminder may go out on another channel."""
        wiring = wirings.get(message.channel)
        if wiring is None:
            return message
        message = wiring.prepare(message, invitation, settings=settings, secret=secret)
        return message if in_session else wiring.outside_session(message, talk)

    read_sessions = read_session_factory(engine)
    outbox = _outbox(
        settings,
        sessions,
        read_sessions,
        all_channels,
        catalog,
        clock,
        prepare,
        Suppressions.keyed_by(secret),
    )
    conversation = ConversationEngine(
        sessions=sessions, clock=clock, catalog=catalog, max_reprompts=settings.max_reprompts
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=read_sessions,
        links=links,
        channels=all_channels,
        catalog=catalog,
        conversation=conversation,
        outbox=outbox,
        clock=clock,
        secret=secret,
    )
    if settings.surveys_file is not None:
        try:
            surveys = read_survey_file(settings.surveys_file)
            await load_surveys(
                sessions, surveys, channels=registry.infos(), source=settings.surveys_file
            )
        except BaseException:
            await engine.dispose()  # refused: nothing runs, so nothing may stay open
            raise
    return services


def _outbox(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    read_sessions: async_sessionmaker[AsyncSession],
    channels: dict[str, Channel],
    catalog: tuple[ChannelInfo, ...],
    clock: Callable[[], datetime],
    prepare: Prepare,
    suppression: Suppressions,
) -> OutboxSender:
    """The outbox sender as the settings shape it; each channel's rate is its own default
    unless a setting says otherwise."""
    return OutboxSender(
        sessions=sessions,
        read_sessions=read_sessions,
        channels=channels,
        catalog=catalog,
        clock=clock,
        prepare=prepare,
        suppression=suppression,
        invitation_ttl=timedelta(hours=settings.invitation_ttl_hours),
        interval_seconds=settings.dispatch_interval_seconds,
        batch_size=settings.dispatch_batch_size,
        concurrency=settings.dispatch_concurrency,
        lease_seconds=settings.lease_seconds,
        max_attempts=settings.max_send_attempts,
        retry_base_seconds=settings.retry_base_seconds,
        rate_limits={info.name: settings.rate_for(info.name, info.send_rate) for info in catalog},
    )
