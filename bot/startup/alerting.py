"""Alerts, health checks and digests plugged into a running service, and its mailer.

The alert rules join the router's consumers and their sender the deliverer's; the health job
and the digest job run beside them, each in every process but active in one at a time (their
own leases). Mail goes through the SMTP settings the email channel uses.
"""

from __future__ import annotations

from bot.campaigns.scheduler import default_holder
from bot.digests.job import DigestJob
from bot.events.alerts import PREFIX, AlertRules, AlertSender
from bot.events.delivering import Deliverer
from bot.events.health import HealthJob
from bot.events.mail import Mailer, SmtpSettings
from bot.events.poster import Poster
from bot.events.posting import WebhookSender
from bot.events.routing import Router
from bot.runtime.services import Services
from bot.runtime.settings import Settings

DEFAULT_NAME = "surveybot"


def mail_on(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.smtp_from)


def sender_name(settings: Settings) -> str:
    return settings.brand_name or DEFAULT_NAME


def mailer_of(settings: Settings) -> Mailer | None:
    """A mailer on the SMTP settings, or None when email is not configured."""
    if not settings.smtp_host or not settings.smtp_from:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return Mailer(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=password,
            name=settings.brand_name,
        )
    )


def add_alerting(
    services: Services, poster: Poster, router: Router, deliverer: Deliverer
) -> HealthJob:
    """Plug alerts into the router and the deliverer; start the health and digest jobs."""
    settings = services.settings
    mailer = mailer_of(settings)
    name = sender_name(settings)
    sender = AlertSender(
        sessions=services.sessions,
        poster=poster,
        clock=services.clock,
        mailer=mailer,
        base_url=settings.base_url(),
        sender_name=name,
    )
    router.consumers = [*router.consumers, AlertRules()]
    deliverer.senders = {**deliverer.senders, PREFIX: sender}
    health = HealthJob(
        sessions=services.sessions,
        clock=services.clock,
        holder=default_holder(),
        mailer=mailer,
        operator=settings.operator_email,
        silent_hours=settings.health_silent_hours,
        sender_name=name,
    )
    webhooks = deliverer.senders.get("webhook")
    if isinstance(webhooks, WebhookSender):
        webhooks.on_disabled = health.webhook_disabled
    services.spawn(health.run(), "health")
    if mailer is not None:
        digests = DigestJob(
            sessions=services.sessions,
            clock=services.clock,
            holder=default_holder(),
            mailer=mailer,
            base_url=settings.base_url(),
            sender_name=name,
        )
        services.spawn(digests.run(), "digests")
    return health
