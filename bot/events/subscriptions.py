"""Webhook subscriptions as operators manage them: add, list, remove, test, read deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.errors import Conflict, NotFound, Unprocessable
from bot.events.matching import check_events, check_filters
from storage.outbound import Delivery, DeliveryStatus, Event, Webhook, WebhookStatus, event_uid
from storage.uow import UnitOfWork

FORMATS = ("json", "slack")
MIN_SECRET = 16
MAX_SUBSCRIPTIONS = 100
TEST_EVENT = "webhook.test"


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A subscription as a caller asks for it (the HTTP body and the CLI options alike)."""

    url: str
    events: list[str]
    filters: Mapping[str, Any]
    secret: str | None = None
    format: str = "json"


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable("url must be an http:// or https:// address with a host", field="url")
    if parts.username or parts.password:
        raise Unprocessable("url must not carry a user name or password", field="url")
    if len(url) > 2000:
        raise Unprocessable("url is at most 2000 characters", field="url")
    return url.strip()


def webhook_dict(hook: Webhook, *, secret: bool = False) -> dict[str, Any]:
    """A subscription as the API and the CLI show it (the secret only when just created)."""
    shown: dict[str, Any] = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "filters": hook.filters,
        "format": hook.format,
        "status": hook.status,
        "disabled_reason": hook.disabled_reason,
        "failing_since": hook.failing_since,
        "last_success_at": hook.last_success_at,
        "created_at": hook.created_at,
    }
    if secret:
        shown["secret"] = hook.secret
    return shown


def delivery_dict(delivery: Delivery, event: Event) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": event.uid,
        "event_type": event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at
        if delivery.status == DeliveryStatus.PENDING
        else None,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
    }


async def add(uow: UnitOfWork, request: NewWebhook, now: datetime) -> Webhook:
    """A new subscription (its secret generated unless given; at least 16 characters)."""
    if request.format not in FORMATS:
        raise Unprocessable(f"format must be one of {', '.join(FORMATS)}", field="format")
    secret = request.secret if request.secret is not None else "whsec_" + secrets.token_urlsafe(24)
    if len(secret) < MIN_SECRET or len(secret) > 255:
        raise Unprocessable(f"secret must be {MIN_SECRET}-255 characters", field="secret")
    if len(await uow.webhooks.all()) >= MAX_SUBSCRIPTIONS:
        raise Conflict(f"at most {MAX_SUBSCRIPTIONS} subscriptions", field="url")
    hook = Webhook(
        id="wh_" + secrets.token_hex(8),
        url=check_url(request.url),
        events=check_events(list(request.events)),
        filters=check_filters(dict(request.filters)),
        secret=secret,
        format=request.format,
        status=WebhookStatus.ACTIVE,
        created_at=now,
    )
    return await uow.webhooks.add(hook)


async def get(uow: UnitOfWork, webhook_id: str) -> Webhook:
    hook = await uow.webhooks.get(webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id!r} does not exist", field="webhook_id")
    return hook


async def remove(uow: UnitOfWork, webhook_id: str, now: datetime) -> int:
    """Remove a subscription; its deliveries not sent yet are dropped (how many)."""
    await get(uow, webhook_id)
    return await uow.webhooks.remove(webhook_id, now)


async def enable(uow: UnitOfWork, webhook_id: str) -> Webhook:
    """Switch a subscription back on after it was switched off for failing."""
    await get(uow, webhook_id)
    await uow.webhooks.enable(webhook_id)
    return await get(uow, webhook_id)


async def queue_test(uow: UnitOfWork, webhook_id: str, now: datetime) -> int:
    """A `webhook.test` event for this subscription alone, due now; the delivery's id."""
    await get(uow, webhook_id)
    event = Event(
        uid=event_uid(), type=TEST_EVENT, occurred_at=now, data={"test": True}, routed=True
    )
    uow.session.add(event)
    await uow.flush()
    delivery = Delivery(
        target=f"webhook:{webhook_id}",
        webhook_id=webhook_id,
        event_id=event.id or 0,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    uow.session.add(delivery)
    await uow.flush()
    return delivery.id or 0


async def resend(uow: UnitOfWork, webhook_id: str, delivery_id: int, now: datetime) -> Delivery:
    """Queue a delivery again (the same body, the same event id), due now."""
    delivery = await uow.deliveries.get(delivery_id)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
    if delivery.status == DeliveryStatus.PENDING:
        raise Conflict("that delivery is still pending: it will be tried anyway", field="status")
    if delivery.payload is None:
        raise Conflict("that delivery was dropped before it was sent", field="status")
    await uow.deliveries.resend(delivery_id, now)
    return delivery
