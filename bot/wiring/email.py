"""The email channel's place in the service: on with SMTP settings; signed links added per send.

The pages behind the links (rating, unsubscribe) live in bot.wiring.email_web; the texts and
page markup in bot.wiring.email_pages.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter

from bot.runtime.settings import Settings
from bot.wiring.base import Wiring
from bot.wiring.branding import Brand
from bot.wiring.email_links import EmailLinks
from bot.wiring.email_pages import page_locale, text
from bot.wiring.email_web import router
from channels.base import Channel, ChannelInfo, OutboundMessage
from channels.email import EmailChannel
from storage.records import InvitationView

INFO = ChannelInfo(
    name="email",
    address="email",
    send_rate=10,
    quiet_hours=None,  # mail waits in the inbox: no quiet hours by default
    max_text=None,
    buttons=True,  # one signed rating link per scale point
    links=True,
)


class EmailWiring(Wiring):
    """SMTP sending on when SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM are set."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        return bool(settings.smtp_host and settings.smtp_from)

    def build(self, settings: Settings, *, secret: str) -> Channel:
        assert settings.smtp_host and settings.smtp_from  # checked by configured()
        return EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            unsubscribe_mailto=settings.smtp_unsubscribe_mailto,
            look=Brand.of(settings).look(),
        )

    def router(self) -> APIRouter:
        return router

    def prepare(
        self,
        message: OutboundMessage,
        invitation: InvitationView,
        *,
        settings: Settings,
        secret: str,
    ) -> OutboundMessage:
        """Add one signed rating link per scale point and the signed unsubscribe URL."""
        links = EmailLinks(secret=secret, base_url=settings.base_url())
        locale = page_locale(invitation.locale)
        token = links.rate_token(invitation.id)
        metadata = dict(message.metadata)
        for choice in message.choices:
            metadata[f"rate_url.{choice.value}"] = links.rate_url(token, choice.value)
        metadata["unsubscribe_url"] = links.unsubscribe_url(invitation.contact_id)
        metadata["unsubscribe_label"] = text("email.unsubscribe", locale)
        metadata["lang"] = locale
        hint = message.choices_hint
        if message.choices:  # replies are not read: the hint points at the buttons instead
            low, high = message.choices[0].value, message.choices[-1].value
            hint = text("email.hint", locale, low=low, high=high)
        return replace(message, metadata=metadata, choices_hint=hint)


WIRING = EmailWiring()
