"""Tables of closing the loop by mail: alert rules, digests and what they sent, health notices.

Separate from storage.outbound (the outbox and webhook deliveries) so each stays readable: an
alert itself goes out as a delivery there (target `alert:<rule id>`); these rows say what to
watch and whom to tell, and remember what was already told.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow


class AlertRule(SQLModel, table=True):
    """A low score on a survey (at most `score_max`, matching `filters`) told to people or a
    webhook subscription, once per response."""

    __tablename__ = "alert_rule"

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    score_max: int
    # channel and property.NAME values, all of which must match (as a subscription's filters).
    filters: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    emails: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    webhook_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class Digest(SQLModel, table=True):
    """A survey's numbers mailed every day or week at a local time."""

    __tablename__ = "digest"

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    every: str = Field(max_length=16)  # daily | weekly
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    send_at: str = Field(max_length=5)  # HH:MM in `timezone`
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class DigestSent(SQLModel, table=True):
    """One period of one digest, claimed before its mail goes out and marked once it went: the
    unique pair is what keeps a restart, or a second process, from sending it twice."""

    __tablename__ = "digest_sent"
    __table_args__ = (
        sa.UniqueConstraint("digest_id", "period_start", name="uq_digest_sent_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id")
    period_start: str = Field(max_length=10)  # the period's first local day, YYYY-MM-DD
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class HealthNotice(SQLModel, table=True):
    """A health condition told to the operator (or the log) for one period: once, at most."""

    __tablename__ = "health_notice"
    __table_args__ = (
        sa.UniqueConstraint("kind", "subject", "period", name="uq_health_notice_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # silent_survey | failing_channel | webhook_disabled
    subject: str = Field(max_length=64)  # the survey key, the channel, the webhook id
    period: str = Field(max_length=40)  # the UTC day, or the run of failures
    message: str = Field(max_length=1000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
