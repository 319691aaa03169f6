"""Tables of what goes out: events (the outbox), webhook subscriptions and their deliveries.

An event is written in the transaction of the change it describes; a router later gives each
event one delivery per subscription (or alert, or help-desk write-back) that wants it; senders
claim due deliveries under a lease. Separate from storage.models so each stays readable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow


def event_uid() -> str:
    return "evt_" + uuid.uuid4().hex


class Event(SQLModel, table=True):
    """One change someone outside may care about (response.created, contact.opted_out, …)."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_unrouted", "routed", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=event_uid, max_length=40, unique=True)
    type: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    survey_id: int | None = Field(default=None, foreign_key="survey.id")
    invitation_id: str | None = Field(default=None, max_length=32, index=True)
    response_id: int | None = Field(default=None, index=True)
    contact_id: int | None = Field(default=None, index=True)
    # What the change was about that the rows may no longer say (the channel of an opt-out).
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # Given its deliveries by the router (false until then).
    routed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class WebhookStatus:
    """A subscription receives deliveries while active; it is switched off after failing a day."""

    ACTIVE = "active"
    DISABLED = "disabled"


class Webhook(SQLModel, table=True):
    """A subscription: where to POST which events, filtered, signed with its secret."""

    __tablename__ = "webhook"

    id: str = Field(primary_key=True, max_length=40)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    filters: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    secret: str = Field(max_length=255)
    format: str = Field(default="json", max_length=16)  # json | slack
    status: str = Field(default=WebhookStatus.ACTIVE, max_length=16)
    disabled_reason: str | None = Field(default=None, max_length=500)
    # The first failure of the current run of failures (None after a success).
    failing_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    last_success_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class DeliveryStatus:
    """A delivery is pending (due at next_attempt_at), delivered, failed for good, or dropped
    (its contact was erased, or its subscription removed, before it went out)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    DROPPED = "dropped"


class Delivery(SQLModel, table=True):
    """One event for one target (a webhook subscription, an alert, a help-desk write-back)."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("target", "event_id", name="uq_delivery_target_event"),
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_delivery_webhook", "webhook_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # webhook:<id>, alert:<id> or zendesk: what receives it, and how.
    target: str = Field(max_length=64)
    webhook_id: str | None = Field(default=None, max_length=40)
    event_id: int = Field(foreign_key="event.id")
    contact_id: int | None = Field(default=None, index=True)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # The body, fixed at the first attempt so that every retry sends the same bytes.
    payload: str | None = None
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
