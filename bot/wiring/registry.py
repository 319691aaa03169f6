"""The channels surveybot knows, best first: the order a contact's channel is chosen in.

Adding a channel: write its adapter (`channels/`), its wiring module here (description, settings
check, adapter, routes, background work) and add its `WIRING` below (docs/adding-a-channel.md).
"""

from __future__ import annotations

from bot.runtime.settings import Settings
from bot.wiring import email, sms, telegram, web, whatsapp
from bot.wiring.base import ChannelWiring
from channels.base import ChannelInfo

# WhatsApp comes after SMS: a phone number does not say whether its owner uses WhatsApp, and a
# first WhatsApp message needs a template approved beforehand; a trigger or campaign that names
# `whatsapp` uses it, and with SMS off it is the first phone channel.
WIRINGS: tuple[ChannelWiring, ...] = (
    telegram.WIRING,
    sms.WIRING,
    whatsapp.WIRING,
    email.WIRING,
    web.WIRING,
)


def names() -> tuple[str, ...]:
    return tuple(wiring.name for wiring in WIRINGS)


def infos() -> tuple[ChannelInfo, ...]:
    """Every channel's description, best first."""
    return tuple(wiring.info for wiring in WIRINGS)


def configured(settings: Settings) -> tuple[ChannelWiring, ...]:
    """The wirings whose settings are present, best first."""
    return tuple(wiring for wiring in WIRINGS if wiring.configured(settings))


def expected() -> str:
    """The channel names as a validation message lists them: 'telegram', 'sms', … or 'web'."""
    quoted = [repr(name) for name in names()]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def check_settings(settings: Settings) -> None:
    """Refuse settings that name a channel surveybot does not have (ValueError naming it)."""
    channel = settings.helpdesk_channel
    if channel is not None and channel not in names():
        raise ValueError(f"SURVEYBOT_HELPDESK_CHANNEL: Input should be {expected()}")
