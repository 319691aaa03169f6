"""`surveybot worker`: the outbox sender and the campaign scheduler, without the HTTP app."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from bot.runtime.services import Services
from bot.runtime.settings import Settings
from bot.startup.background import start_background
from bot.startup.bootstrap import build_services

log = logging.getLogger("bot.worker")


async def run_worker(
    settings: Settings, *, ready: Callable[[Services], None] | None = None
) -> None:
    """Send due work until SIGTERM or SIGINT, then finish the sends in flight and exit."""
    services = await build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await services.start_channels()
        # Webhooks and Telegram polling belong to `serve`; a worker only sends.
        await start_background(services, channel_tasks=False)
        if ready is not None:
            ready(services)
        await stop.wait()
        log.info("stopping: finishing the sends in flight")
    finally:
        await services.close()
