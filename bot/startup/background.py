"""The service's background work: the outbox sender, the campaign scheduler, the tagging job and
the channels' loops."""

from __future__ import annotations

from bot.campaigns.scheduler import CampaignScheduler, default_holder
from bot.insight.tagging import Tagger
from bot.runtime.services import Services
from bot.startup.bootstrap import configured_wirings


async def start_background(services: Services, *, channel_tasks: bool = True) -> None:
    """Start the outbox sender, the campaign scheduler, the tagger and the channels' loops."""
    services.sending = services.spawn(services.outbox.run(), "outbox")
    if services.settings.scheduler:
        # Every process competes for the database lease; one at a time schedules.
        scheduler = CampaignScheduler(
            sessions=services.sessions,
            clock=services.clock,
            channels=services.catalog,
            holder=default_holder(),
        )
        services.spawn(scheduler.run(), "scheduler")
    # Every process competes for the tagging lease too; one at a time gives comments themes.
    tagger = Tagger(
        sessions=services.sessions,
        clock=services.clock,
        holder=default_holder(),
        interval=services.settings.tagging_interval_seconds,
    )
    services.spawn(tagger.run(), "tagger")
    if channel_tasks:
        for name, wiring in configured_wirings(services.settings).items():
            if name in services.channels:
                services.spawn(wiring.run(services, services.channels[name]), f"channel-{name}")
