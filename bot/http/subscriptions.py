"""/api/v1/webhooks: outbound webhook subscriptions, their deliveries, tests and resends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from bot.events import subscriptions
from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.http.deps import UowDep
from bot.http.errors import refuse_unstorable
from bot.http.schemas import API_ADMIN, API_ERRORS, ApiError
from bot.runtime.services import Services, ServicesDep
from storage.uow import UnitOfWork

# Subscriptions hold secrets, and their URLs often are (Slack's): every route needs admin.
router = APIRouter(
    prefix="/api/v1", dependencies=API_ADMIN, responses=API_ERRORS, tags=["webhooks"]
)


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="http(s) address that receives the POSTs")
    events: list[str] = Field(
        min_length=1,
        max_length=10,
        description="response.created, response.updated, response.completed,"
        " contact.opted_out, invitation.failed, or * for all",
    )
    filters: dict[str, str | int] = Field(
        default_factory=dict,
        max_length=20,
        description='e.g. {"survey": "support-csat", "score_max": 6, "channel": "sms",'
        ' "property.plan": "pro"}; every filter must match',
    )
    secret: str | None = Field(
        default=None, max_length=255, description="16+ characters; generated when omitted"
    )
    format: Literal["json", "slack"] = "json"


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    filters: dict[str, Any]
    format: str
    status: str = Field(description="active, or disabled after failing for 24 hours")
    disabled_reason: str | None
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    secret: str | None = Field(default=None, description="shown once, when created")


class WebhooksOut(BaseModel):
    data: list[WebhookOut]
    count: int


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered, failed or dropped")
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


class DeliveriesOut(BaseModel):
    data: list[DeliveryOut] = Field(description="newest first")
    count: int


class RemovedOut(BaseModel):
    id: str
    deliveries_dropped: int


@router.post(
    "/webhooks",
    response_model=WebhookOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ApiError, "description": "Too many subscriptions"}},
)
async def add_webhook(body: WebhookIn, uow: UowDep, services: ServicesDep) -> dict[str, Any]:
    """Subscribe a URL to events; the answer carries its `id` and, once, its `secret`."""
    refuse_unstorable(body.model_dump(mode="json"))
    request = subscriptions.NewWebhook(
        url=body.url, events=body.events, filters=body.filters, secret=body.secret,
        format=body.format,
    )  # fmt: skip
    hook = await subscriptions.add(uow, request, services.clock())
    await uow.commit()
    return subscriptions.webhook_dict(hook, secret=True)


@router.get("/webhooks", response_model=WebhooksOut)
async def list_webhooks(uow: UowDep) -> WebhooksOut:
    hooks = await uow.webhooks.all()
    return WebhooksOut(
        data=[WebhookOut(**subscriptions.webhook_dict(h)) for h in hooks], count=len(hooks)
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: str, uow: UowDep) -> dict[str, Any]:
    return subscriptions.webhook_dict(await subscriptions.get(uow, webhook_id))


@router.delete("/webhooks/{webhook_id}", response_model=RemovedOut)
async def remove_webhook(webhook_id: str, uow: UowDep, services: ServicesDep) -> RemovedOut:
    """Remove a subscription; its deliveries not sent yet are dropped."""
    dropped = await subscriptions.remove(uow, webhook_id, services.clock())
    await uow.commit()
    return RemovedOut(id=webhook_id, deliveries_dropped=dropped)


@router.post("/webhooks/{webhook_id}/enable", response_model=WebhookOut)
async def enable_webhook(webhook_id: str, uow: UowDep) -> dict[str, Any]:
    """Switch a subscription back on after it was switched off for failing."""
    hook = await subscriptions.enable(uow, webhook_id)
    await uow.commit()
    return subscriptions.webhook_dict(hook)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveriesOut)
async def list_deliveries(
    webhook_id: str,
    uow: UowDep,
    status_: Annotated[
        Literal["pending", "delivered", "failed", "dropped"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DeliveriesOut:
    """The subscription's deliveries, newest first: status, attempts, last answer or error."""
    await subscriptions.get(uow, webhook_id)
    rows, total = await uow.deliveries.of_webhook(
        webhook_id, limit=limit, offset=offset, status=status_
    )
    return DeliveriesOut(
        data=[DeliveryOut(**subscriptions.delivery_dict(d, e)) for d, e in rows], count=total
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend",
    response_model=DeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ApiError, "description": "Still pending, or never sent"}},
)
async def resend_delivery(
    webhook_id: str,
    delivery_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    uow: UowDep,
    services: ServicesDep,
) -> dict[str, Any]:
    """Send a delivery again (same body, same event id), due now."""
    await subscriptions.resend(uow, webhook_id, delivery_id, services.clock())
    await uow.commit()
    delivery = await uow.deliveries.get(delivery_id)
    assert delivery is not None
    event = await uow.events.get(delivery.event_id)
    assert event is not None
    return subscriptions.delivery_dict(delivery, event)


@router.post("/webhooks/{webhook_id}/test", response_model=DeliveryOut)
async def test_webhook(webhook_id: str, services: ServicesDep) -> dict[str, Any]:
    """Send a `webhook.test` event now and answer with what the endpoint said."""
    # Its own units of work, not the request's: on SQLite a unit of work holds the write lock
    # until it ends, and the attempt records its result in another one.
    async with UnitOfWork(services.sessions) as uow:
        delivery_id = await subscriptions.queue_test(uow, webhook_id, services.clock())
        await uow.commit()
    return await send_test(services, delivery_id)


async def send_test(services: Services, delivery_id: int) -> dict[str, Any]:
    """Attempt one delivery now with a client of its own; its record, as the API shows it."""
    async with Poster() as poster:
        deliverer = deliverer_for(
            services.sessions, services.clock, poster, services.settings.base_url()
        )
        await deliverer.deliver_one(delivery_id)
    async with UnitOfWork(services.sessions) as uow:
        delivery = await uow.deliveries.get(delivery_id)
        assert delivery is not None
        event = await uow.events.get(delivery.event_id)
        assert event is not None
        return subscriptions.delivery_dict(delivery, event)
