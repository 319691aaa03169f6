"""Posting to webhook subscriptions: the signed request, and the endpoint's health.

Headers: `X-Surveybot-Event-Id`, `X-Surveybot-Timestamp` (this attempt's time, in seconds) and
`X-Surveybot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` keyed by the
subscription's secret: the scheme of surveybot's own inbound generic webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import policy
from bot.events.delivering import Attempt, Deliverer, Due, Outcome
from bot.events.payloads import Subject, encode, event_body, slack_body
from bot.events.poster import Poster, PostFailed
from bot.invitations.helpdesk import generic_signature
from storage.outbound import Delivery, Webhook, WebhookStatus
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

# Longer than one attempt may take (poster.TIMEOUT), so that no attempt outlives its lease.
MIN_LEASE_SECONDS = 20.0
USER_AGENT = "surveybot-webhooks/1"


def band_of(subject: Subject) -> str | None:
    if subject.response is None or subject.survey is None:
        return None
    return to_domain(subject.survey).band(subject.response.score)


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Surveybot-Event-Id": event_id,
        "X-Surveybot-Timestamp": stamp,
        "X-Surveybot-Signature": generic_signature(secret, stamp, body),
    }


class WebhookSender:
    """Posts deliveries to subscriptions; switches off an endpoint failing for 24 hours."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        poster: Poster,
        clock: Callable[[], datetime],
        timeline_url: Callable[[str], str],
        on_disabled: Callable[[Webhook, str], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._poster = poster
        self._clock = clock
        self._timeline_url = timeline_url
        # Public: the health job, started after the deliverer, sets it to hear of switch-offs.
        self.on_disabled = on_disabled

    async def body(self, uow: UnitOfWork, delivery: Delivery, subject: Subject) -> str | None:
        hook = await uow.webhooks.get(delivery.webhook_id or "")
        if hook is None:
            return None
        timeline = (
            self._timeline_url(subject.event.invitation_id) if subject.event.invitation_id else None
        )
        band = band_of(subject)
        if hook.format == "slack":
            return encode(slack_body(subject, band=band, timeline_url=timeline))
        return encode(event_body(subject, band=band, timeline_url=timeline))

    async def send(self, due: Due) -> Attempt:
        # The subscription as read at this attempt's claim: one switched off or removed stops.
        hook = due.webhook
        if hook is None or hook.status != WebhookStatus.ACTIVE:
            return Attempt(status=None, error="the webhook is switched off or removed", drop=True)
        body = due.payload.encode()
        headers = signed_headers(hook.secret, due.event_uid, int(self._clock().timestamp()), body)
        try:
            answer = await self._poster.post(hook.url, body, headers)
        except PostFailed as exc:
            return Attempt(status=None, error=str(exc))
        retry_after = policy.retry_after_seconds(answer.retry_after, self._clock())
        error = None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        return Attempt(status=answer.status, error=error, retry_after=retry_after)

    async def settled(self, uow: UnitOfWork, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Each endpoint's health, once per batch: a success ends its run of failures; a
        failure starts one, and one failing for a day (or refusing for good) is switched off."""
        by_hook: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            by_hook.setdefault(outcome.due.delivery.webhook_id or "", []).append(outcome)
        for hook_id, mine in by_hook.items():
            if any(o.verdict.delivered for o in mine):
                await uow.webhooks.succeeded(hook_id, now)
            failures = [o.verdict for o in mine if not o.verdict.delivered]
            if not failures:
                continue
            since = await uow.webhooks.failed(hook_id, now)
            verdict = next((v for v in failures if v.gave_up), failures[0])
            if verdict.gave_up or now - since >= policy.DISABLE_AFTER:
                reason = f"failing since {since.isoformat()}: {verdict.reason}"
                if await uow.webhooks.disable(hook_id, reason, now):
                    log.warning("webhook %s switched off: %s", hook_id, reason)
                    hook = await uow.webhooks.get(hook_id)
                    if hook is not None and self.on_disabled is not None:
                        self.on_disabled(hook, reason)


def deliverer_for(
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    poster: Poster,
    base_url: str,
    *,
    lease_seconds: float = 60.0,
) -> Deliverer:
    """A deliverer with the webhook sender, linking timelines under `base_url`'s dashboard."""
    base = base_url.rstrip("/")
    sender = WebhookSender(
        sessions=sessions,
        poster=poster,
        clock=clock,
        timeline_url=lambda invitation_id: f"{base}/dashboard/invitations/{invitation_id}",
    )
    # Never shorter than one send may take, or a slow endpoint would be sent to twice.
    lease = timedelta(seconds=max(lease_seconds, MIN_LEASE_SECONDS))
    return Deliverer(sessions=sessions, clock=clock, senders={"webhook": sender}, lease=lease)
