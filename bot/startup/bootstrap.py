"""The composition root: builds and wires engine, sessions, channels, conversation and dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.conversation.engine import ConversationEngine
from bot.delivery.outbox import Dispatcher
from bot.runtime.database import open_database
from bot.runtime.services import Services, utc_now
from bot.runtime.settings import Settings
from bot.runtime.survey_files import load_surveys, read_survey_file
from bot.wiring import all_wirings
from bot.wiring.base import ChannelWiring
from channels.base import Channel, OutboundMessage
from channels.web import ChatLinks, WebChannel
from storage.database import read_session_factory
from storage.records import InvitationView
from storage.secrets import instance_secret


def configured_wirings(settings: Settings) -> dict[str, ChannelWiring]:
    """The wirings of the channels whose settings are present."""
    return {wiring.name: wiring for wiring in all_wirings() if wiring.configured(settings)}


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
    wirings = configured_wirings(settings)
    for name, wiring in wirings.items():
        all_channels[name] = wiring.build(settings, secret=secret)
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
    )
    if settings.surveys_file is not None:
        await load_surveys(sessions, read_survey_file(settings.surveys_file))
    return services
