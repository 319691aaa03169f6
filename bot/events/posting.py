"""Posting to webhook subscriptions: the signed request, and the endpoint's health.

Headers: `X-Surveybot-Event-Id`, `X-Surveybot-Timestamp` (this attempt's time, in seconds) and
`X-Surveybot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` keyed by the
subscription's secret: the scheme of surveybot's own inbound generic webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import policy
from bot.events.delivering import Attempt, Deliverer
from bot.events.payloads import Subject, encode, event_body, slack_body
from bot.invitations.helpdesk import generic_signature
from storage.outbound import Delivery, Webhook, WebhookStatus
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
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
        client: httpx.AsyncClient,
        clock: Callable[[], datetime],
        timeline_url: Callable[[str], str],
        on_disabled: Callable[[Webhook, str], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
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

    async def send(self, delivery: Delivery, payload: str) -> Attempt:
        # Read at each attempt: a subscription switched off or removed stops at once.
        async with UnitOfWork(self._sessions) as uow:
            hook = await uow.webhooks.get(delivery.webhook_id or "")
            event = await uow.events.get(delivery.event_id)
        if hook is None or hook.status != WebhookStatus.ACTIVE or event is None:
            return Attempt(status=None, error="the webhook is switched off or removed", drop=True)
        body = payload.encode()
        event_id = event.uid
        headers = signed_headers(hook.secret, event_id, int(self._clock().timestamp()), body)
        try:
            answer = await self._client.post(
                hook.url, content=body, headers=headers, timeout=TIMEOUT
            )
        except httpx.TimeoutException:
            return Attempt(status=None, error="timed out")
        except httpx.HTTPError as exc:
            return Attempt(status=None, error=f"could not connect: {type(exc).__name__}")
        retry_after = policy.retry_after_seconds(answer.headers.get("Retry-After"), self._clock())
        error = None if answer.is_success else f"HTTP {answer.status_code}"
        return Attempt(status=answer.status_code, error=error, retry_after=retry_after)

    async def settled(
        self, uow: UnitOfWork, delivery: Delivery, verdict: policy.Verdict, now: datetime
    ) -> None:
        hook_id = delivery.webhook_id or ""
        if verdict.delivered:
            await uow.webhooks.succeeded(hook_id, now)
            return
        since = await uow.webhooks.failed(hook_id, now)
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
    client: httpx.AsyncClient,
    base_url: str,
) -> Deliverer:
    """A deliverer with the webhook sender, linking timelines under `base_url`'s dashboard."""
    base = base_url.rstrip("/")
    sender = WebhookSender(
        sessions=sessions,
        client=client,
        clock=clock,
        timeline_url=lambda invitation_id: f"{base}/dashboard/invitations/{invitation_id}",
    )
    return Deliverer(sessions=sessions, clock=clock, senders={"webhook": sender})
