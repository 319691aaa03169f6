"""The shape of a channel wiring: its description, and how it is configured, built, routed, run."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter

from bot.conversation.talk import Talk
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from channels.base import Channel, ChannelInfo, OutboundMessage
from storage.records import InvitationView


class ChannelWiring(Protocol):
    """One channel's place in the service. Webhook routes answer 404 while it is off."""

    info: ChannelInfo

    @property
    def name(self) -> str: ...

    def configured(self, settings: Settings) -> bool:
        """Whether the channel's settings are present (then it is switched on)."""
        ...

    def build(self, settings: Settings, *, secret: str) -> Channel:
        """The channel adapter; `secret` signs links and payloads that must not be forged."""
        ...

    def router(self) -> APIRouter:
        """Webhook and page routes; always mounted, answering 404 while the channel is off."""
        ...

    def prepare(
        self,
        message: OutboundMessage,
        invitation: InvitationView,
        *,
        settings: Settings,
        secret: str,
    ) -> OutboundMessage:
        """Add what the channel needs to a rendered question (links, headers) before sending."""
        ...

    def outside_session(self, message: OutboundMessage, talk: Talk) -> OutboundMessage:
        """The question to send when the person has not written within the channel's
        `session_hours` (an approved template); raises PermanentSendError when none can go."""
        ...

    async def run(self, services: Services, channel: Channel) -> None:
        """Background work while the service runs (e.g. long polling); return at once if none."""
        ...


class Wiring:
    """Defaults for a wiring: no routes, nothing to add to a message (in a session or out of
    one), no background work."""

    info: ChannelInfo

    @property
    def name(self) -> str:
        return self.info.name

    def router(self) -> APIRouter:
        return APIRouter()

    def prepare(
        self,
        message: OutboundMessage,
        invitation: InvitationView,
        *,
        settings: Settings,
        secret: str,
    ) -> OutboundMessage:
        return message

    def outside_session(self, message: OutboundMessage, talk: Talk) -> OutboundMessage:
        return message

    async def run(self, services: Services, channel: Channel) -> None:
        return None
