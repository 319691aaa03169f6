"""The service's background work: the outbox sender, the campaign scheduler, the tagging job, the
retention purge and the channels' loops."""

from __future__ import annotations

import httpx

from bot.campaigns.scheduler import CampaignScheduler, default_holder
from bot.events.delivering import Deliverer
from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.events.routing import Router, Subscriptions
from bot.events.writeback import TARGET, zendesk_writeback
from bot.events.zendesk_api import ZendeskAccount
from bot.insight.tagging import Tagger
from bot.privacy.retention import RetentionJob
from bot.runtime.services import Services
from bot.startup.alerting import add_alerting
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
            suppression=services.suppression,
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
    if services.settings.retention_days is not None:
        # One process at a time purges old transcripts and comments (the "retention" lease).
        retention = RetentionJob(
            sessions=services.sessions,
            clock=services.clock,
            holder=default_holder(),
            days=services.settings.retention_days,
        )
        services.spawn(retention.run(), "retention")
    start_events(services)
    if channel_tasks:
        for name, wiring in configured_wirings(services.settings).items():
            if name in services.channels:
                services.spawn(wiring.run(services, services.channels[name]), f"channel-{name}")


def start_events(services: Services) -> tuple[Router, Deliverer]:
    """Route events to their consumers and send the deliveries, in every process (the rows are
    claimed under leases, so several processes share the work)."""
    client = httpx.AsyncClient(follow_redirects=False)
    services.closers.append(client.aclose)
    poster = Poster()
    services.closers.append(poster.aclose)
    router = Router(sessions=services.sessions, clock=services.clock, consumers=[Subscriptions()])
    settings = services.settings
    deliverer = deliverer_for(
        services.sessions,
        services.clock,
        poster,
        settings.base_url(),
        lease_seconds=settings.lease_seconds,
    )
    add_writeback(services, client, router, deliverer)
    # Alerts, and the health and digest jobs (each under a lease of its own).
    add_alerting(services, poster, router, deliverer)
    services.spawn(router.run(), "event-router")
    services.spawn(deliverer.run(), "event-deliverer")
    return router, deliverer


def add_writeback(
    services: Services, client: httpx.AsyncClient, router: Router, deliverer: Deliverer
) -> None:
    """Plug the Zendesk write-back into the router and the deliverer when it is configured."""
    settings = services.settings
    token = settings.zendesk_api_token
    # All three or none: the settings refuse a half-given set.
    if settings.zendesk_api_base is None or settings.zendesk_email is None or token is None:
        return
    account = ZendeskAccount(
        base=settings.zendesk_api_base, email=settings.zendesk_email, token=token.get_secret_value()
    )
    notes, sender = zendesk_writeback(
        account=account, client=client, clock=services.clock, base_url=settings.base_url()
    )
    router.consumers = [*router.consumers, notes]
    deliverer.senders = {**deliverer.senders, TARGET: sender}
