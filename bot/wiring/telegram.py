"""The Telegram wiring: webhook and deep-link routes, and webhook registration or long polling.

aiogram is imported only where Telegram is used: a server without Telegram never loads it
(it is most of a process's memory otherwise).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Request
from pydantic import BaseModel, ValidationError

from bot.errors import BadRequest, Forbidden, NotFound, UpstreamFailed
from bot.runtime.services import Services, ServicesDep
from bot.runtime.settings import Settings
from bot.wiring.base import Wiring
from channels.base import Channel, ChannelError, ChannelInfo, OutboundMessage
from storage.records import InvitationView
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from channels.telegram import TelegramChannel

log = logging.getLogger("bot.telegram")

INFO = ChannelInfo(
    name="telegram",
    address="telegram_chat_id",
    send_rate=30,  # about 30 messages a second per bot
    quiet_hours=("09:00", "20:00"),
    max_text=4096,  # Telegram refuses longer messages
    buttons=True,
    links=True,
)
WEBHOOK_PATH = "/webhooks/telegram"
LINK_TTL = timedelta(days=7)
POLL_TIMEOUT = 25  # seconds getUpdates holds the connection open when there is nothing new
MAX_BACKOFF = 30.0
MAX_UPDATE_TRIES = 5  # a poison update is skipped after this many failures in a row


class TelegramLinkOut(BaseModel):
    """A deep link that connects a contact's Telegram chat when they press Start."""

    link: str
    expires_at: datetime


def telegram_channel(services: Services) -> TelegramChannel | None:
    channel = services.channels.get(INFO.name)
    if channel is None:
        return None
    from channels.telegram import TelegramChannel

    return channel if isinstance(channel, TelegramChannel) else None


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def webhook(
        request: Request,
        services: ServicesDep,
        background: BackgroundTasks,
        secret_token: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
    ) -> dict[str, bool]:
        """Telegram posts each update here in webhook mode; state is committed before the 200."""
        channel = telegram_channel(services)
        secret = services.settings.telegram_webhook_secret
        # Without a secret the service polls: an unauthenticated webhook would take forged updates.
        if channel is None or secret is None:
            raise NotFound("the Telegram webhook is not in use")
        expected = secret.get_secret_value().encode()
        if not hmac.compare_digest((secret_token or "").encode(), expected):
            raise Forbidden("wrong X-Telegram-Bot-Api-Secret-Token")
        from aiogram.types import Update

        from bot.wiring.telegram_updates import handle_update

        try:
            update = Update.model_validate(await request.json())
        except (ValueError, ValidationError) as exc:
            raise BadRequest("the body is not a Telegram update") from exc
        followup = await handle_update(services, channel, update)
        if followup is not None:
            # Replies and keyboard edits go out after the answer: Telegram waits on the webhook.
            background.add_task(followup)
        return {"ok": True}

    return router


async def telegram_link(services: Services, external_id: str) -> TelegramLinkOut:
    """A `https://t.me/<bot>?start=<payload>` link that connects this contact's chat."""
    channel = telegram_channel(services)
    if channel is None:
        raise NotFound("the telegram channel is not configured on this server", field="channel")
    async with UnitOfWork(services.read_sessions) as uow:
        contact = await uow.contacts.get_by_external_id(external_id)
    if contact is None or contact.id is None:
        raise NotFound(f"contact {external_id!r} does not exist", field="external_id")
    try:
        username = await channel.username()
    except ChannelError as exc:
        raise UpstreamFailed(f"getMe failed: {exc}") from exc
    expires_at = (services.clock() + LINK_TTL).replace(microsecond=0)
    from channels.telegram import LinkPayloads

    payload = LinkPayloads(services.secret).sign(contact.id, expires_at)
    return TelegramLinkOut(link=f"https://t.me/{username}?start={payload}", expires_at=expires_at)


async def _until_done(op: Callable[[], Awaitable[None]], what: str) -> None:
    """Run a Bot API call until it succeeds, backing off between failures."""
    failures = 0
    while True:
        try:
            await op()
            return
        except ChannelError as exc:
            failures += 1
            log.warning("Telegram %s failed (%d in a row): %s", what, failures, exc)
            await asyncio.sleep(min(MAX_BACKOFF, 0.5 * 2**failures))


async def poll(
    services: Services, channel: TelegramChannel, *, poll_seconds: int = POLL_TIMEOUT
) -> None:
    """Long polling: getUpdates in a loop feeding the webhook's handler, until cancelled."""
    from bot.wiring.telegram_updates import handle_update

    await _until_done(
        channel.delete_webhook, "deleteWebhook"
    )  # getUpdates refuses while one is set
    offset: int | None = None
    failures = update_failures = 0
    while True:
        try:
            updates = await channel.get_updates(offset, poll_seconds=poll_seconds)
            failures = 0
        except ChannelError as exc:
            failures += 1
            log.warning("Telegram getUpdates failed (%d in a row): %s", failures, exc)
            await asyncio.sleep(min(MAX_BACKOFF, 0.5 * 2**failures))
            continue
        for update in updates:
            try:
                followup = await handle_update(services, channel, update)
                update_failures = 0
            except Exception:
                update_failures += 1
                log.exception("Telegram update %d failed (%d)", update.update_id, update_failures)
                if update_failures < MAX_UPDATE_TRIES:
                    # Not confirmed: the next getUpdates hands it out again.
                    await asyncio.sleep(min(MAX_BACKOFF, 0.5 * 2**update_failures))
                    break
                update_failures, followup = 0, None
            offset = update.update_id + 1
            if followup is not None:
                try:
                    await followup()
                except Exception:  # the answer is stored; a failed reply must not stop polling
                    log.exception("Telegram replies for update %d failed", update.update_id)


class TelegramWiring(Wiring):
    """On when SURVEYBOT_TELEGRAM_BOT_TOKEN is set; webhook mode when the webhook secret is too."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        token = settings.telegram_bot_token
        return token is not None and bool(token.get_secret_value().strip())

    def build(self, settings: Settings, *, secret: str) -> Channel:
        from channels.telegram import TelegramChannel

        assert settings.telegram_bot_token is not None
        return TelegramChannel(
            token=settings.telegram_bot_token.get_secret_value().strip(),
            api_base=settings.telegram_api_base,
        )

    def router(self) -> APIRouter:
        return build_router()

    def prepare(
        self,
        message: OutboundMessage,
        invitation: InvitationView,
        *,
        settings: Settings,
        secret: str,
    ) -> OutboundMessage:
        # The channel builds the keyboard; the reference ties its presses to this invitation.
        return replace(message, reference=invitation.id)

    async def run(self, services: Services, channel: Channel) -> None:
        from channels.telegram import TelegramChannel

        if not isinstance(channel, TelegramChannel):
            return
        settings = services.settings
        secret = settings.telegram_webhook_secret
        if secret is not None:
            url = settings.base_url() + WEBHOOK_PATH
            await _until_done(
                lambda: channel.set_webhook(url, secret=secret.get_secret_value()), "setWebhook"
            )
            log.info("Telegram webhook registered at %s", url)
            return
        if settings.workers > 1:
            log.warning(
                "Telegram long polling with %d workers: set a webhook secret", settings.workers
            )
        await poll(services, channel)


WIRING = TelegramWiring()
