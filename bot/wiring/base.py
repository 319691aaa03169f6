"""The shape of a channel wiring: how a channel is configured, built, routed and run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from fastapi import APIRouter

from bot.runtime.settings import Settings
from channels.base import Channel, OutboundMessage
from storage.records import InvitationView

if TYPE_CHECKING:
    from bot.runtime.services import Services


class ChannelWiring(Protocol):
    """One channel's place in the service. Webhook routes answer 404 while it is off."""

    name: str

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

    async def run(self, services: Services, channel: Channel) -> None:
        """Background work while the service runs (e.g. long polling); return at once if none."""
        ...
