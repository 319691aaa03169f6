"""SQLModel tables: surveys, contacts, invitations, messages, responses, opt-outs, keys, claims."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow


def _uuid() -> str:
    return uuid.uuid4().hex


class InvitationStatus:
    """Invitation statuses; they only move forward (scheduled → sending → sent → answered → …)."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    COMPLETED = "completed"
    CLOSED = "closed"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"

    # An invitation in one of these counts as "surveyed" for the throttle window.
    SURVEYED = (SCHEDULED, SENDING, SENT, ANSWERED, COMPLETED, CLOSED, EXPIRED)
    # A conversation can still take answers in one of these.
    OPEN = (SENT, ANSWERED)


class Step:
    """Where a conversation stands."""

    AWAITING_SCORE = "awaiting_score"
    AWAITING_REASON = "awaiting_reason"
    AWAITING_COMMENT = "awaiting_comment"
    DONE = "done"


class SurveyRow(SQLModel, table=True):
    """A stored survey definition (the validated YAML/API shape as JSON)."""

    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    metric: str = Field(max_length=8)
    definition: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    # An archived survey takes no new triggers; its invitations and responses stay.
    archived_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class CampaignStatus:
    """A campaign is active (its schedule ticks) or paused."""

    ACTIVE = "active"
    PAUSED = "paused"


class RunStatus:
    """A campaign run is pending, running (under a lease) or done."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class Campaign(SQLModel, table=True):
    """A relationship campaign: a survey, an audience, a cadence and a spread (the spec as JSON)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    survey_id: int = Field(foreign_key="survey.id")
    status: str = Field(default=CampaignStatus.ACTIVE, max_length=16)
    definition: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    # The newest scheduled time a run was created for: runs at or before it are not made again.
    last_fire_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class CampaignRun(SQLModel, table=True):
    """One run of a campaign (scheduled or run-now): which contacts it invited, resumable."""

    __tablename__ = "campaign_run"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "scheduled_for", name="uq_campaign_run_scheduled"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    scheduled_for: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(default="scheduled", max_length=16)  # scheduled | manual
    status: str = Field(default=RunStatus.PENDING, max_length=16)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    audience: int = 0
    invited: int = 0
    skipped: int = 0
    # The skipped ones by reason ("throttled", "no_address", "no_date", "missed", …); None
    # until the run is done (and on runs from before reasons were counted).
    skip_reasons: dict[str, int] | None = Field(
        default=None, sa_column=Column(JSONType, nullable=True)
    )
    started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Lease(SQLModel, table=True):
    """A named lease in the database (e.g. who runs the scheduler), renewed by its holder."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RateWindow(SQLModel, table=True):
    """Sends taken from a channel's budget in one time window, shared by every worker."""

    __tablename__ = "rate_window"

    channel: str = Field(primary_key=True, max_length=16)
    window: int = Field(primary_key=True)  # start of the window, in seconds since the epoch
    used: int = 0


class Contact(SQLModel, table=True):
    """A person who can be surveyed, with the addresses that reach them."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=255, unique=True, index=True)
    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=20, index=True)
    telegram_chat_id: str | None = Field(default=None, max_length=32, index=True)
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    properties: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Invitation(SQLModel, table=True):
    """One survey asked of one contact on one channel, and the conversation state that follows."""

    __table_args__ = (
        sa.Index("ix_invitation_due", "status", "send_at"),
        sa.Index("ix_invitation_contact_send", "contact_id", "send_at"),
        sa.Index("ix_invitation_reminder_due", "status", "remind_at"),
        sa.Index("ix_invitation_campaign_contact", "campaign_id", "contact_id"),
        sa.Index("ix_invitation_survey_created", "survey_id", "created_at"),
        # Reports leave out `surveybot try` conversations: an index of just those few.
        sa.Index(
            "ix_invitation_test",
            "id",
            postgresql_where=sa.text("test IS TRUE"),
            sqlite_where=sa.text("test IS 1"),
        ),
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=32)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str = Field(max_length=16)
    status: str = Field(default=InvitationStatus.SCHEDULED, max_length=16)
    skip_reason: str | None = Field(default=None, max_length=64)
    step: str = Field(default=Step.AWAITING_SCORE, max_length=24)
    reprompts: int = 0
    locale: str | None = Field(default=None, max_length=16)
    send_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=128)
    # The provider's latest delivery report for the question (queued, sent, delivered, …).
    delivery_status: str | None = Field(default=None, max_length=16)
    properties: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    # Scoped to the caller and the survey (see bot.invitations.triggers), so it is longer than
    # the key a caller sends; the hash of the request it came with tells a replay from a clash.
    idempotency_key: str | None = Field(default=None, max_length=512, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)
    # Made by `surveybot try`: kept out of reports and exports.
    test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Set just before the provider is called: a worker that dies after this point may have sent,
    # so a lease that runs out on such a claim is not sent again (see the dispatcher).
    send_started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    remind_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reminders_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The fallback order (channel names, best first): a send that fails for good moves the
    # invitation to the next of them (bot.invitations.fallback). None: `channel` alone.
    channels: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # The channel the next reminder goes out on, when not `channel` (reminders: {channel: next}).
    remind_on: str | None = Field(default=None, max_length=16)
    # When the contact first opened the question's page (web chat, email link in a browser).
    opened_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    campaign_id: int | None = Field(
        default=None,
        sa_column=Column(
            sa.ForeignKey("campaign.id", name="fk_invitation_campaign"), nullable=True
        ),
    )
    campaign_run_id: int | None = Field(
        default=None,
        sa_column=Column(
            sa.ForeignKey("campaign_run.id", name="fk_invitation_campaign_run"), nullable=True
        ),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ChannelFailure(SQLModel, table=True):
    """A send of an invitation that a channel could not make: which channel, why, and when.

    One row per channel given up on (a refusal, no address, an opt-out at send time, a delivery
    report of failure, retries run out), for the question or a reminder; with a fallback order
    the invitation then moves on to the next channel, so its rows tell which channels failed
    before the one that reached the person (bot.invitations.fallback).
    """

    __tablename__ = "channel_failure"

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: str = Field(foreign_key="invitation.id", index=True, max_length=32)
    channel: str = Field(max_length=16)
    # not_on, no_address, opted_out, refused, gave_up, undelivered
    reason: str = Field(max_length=16)
    code: str | None = Field(default=None, max_length=32)  # the provider's error code, if any
    error: str | None = Field(default=None, max_length=500)
    reminder: bool = False
    failed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Message(SQLModel, table=True):
    """One line of a transcript, inbound or outbound; inbound ids are unique per channel."""

    __table_args__ = (
        sa.UniqueConstraint(
            "channel", "direction", "provider_message_id", name="uq_message_provider"
        ),
        # Retention purges transcripts by age (bot.privacy.retention).
        sa.Index("ix_message_created", "created_at"),
        # When a contact last wrote on a channel (WhatsApp's 24-hour window, bot.delivery).
        sa.Index("ix_message_contact_last", "contact_id", "channel", "direction", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: str | None = Field(default=None, foreign_key="invitation.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=3)  # "in" | "out"
    address: str | None = Field(default=None, max_length=320)
    provider_message_id: str | None = Field(default=None, max_length=128)
    text: str
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Response(SQLModel, table=True):
    """A stored answer: one per invitation (or one per imported row)."""

    __table_args__ = (
        sa.Index("ix_response_survey_answered", "survey_id", "answered_at"),
        # Retention finds the comments past their age without visiting the purged ones.
        sa.Index(
            "ix_response_commented",
            "answered_at",
            sqlite_where=sa.text("comment IS NOT NULL"),
            postgresql_where=sa.text("comment IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: str | None = Field(default=None, foreign_key="invitation.id", unique=True)
    survey_id: int = Field(foreign_key="survey.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    score: int
    reason: str | None = Field(default=None, max_length=255)
    comment: str | None = None
    answered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    properties: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    source: str = Field(default="conversation", max_length=16)
    # Imported rows carry a digest of their content, so importing a file twice adds nothing.
    import_key: str | None = Field(default=None, max_length=64, unique=True)


class OptOut(SQLModel, table=True):
    """A contact's wish not to be surveyed on one channel, until they opt back in."""

    __tablename__ = "opt_out"
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "channel", name="uq_opt_out_contact_channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str = Field(max_length=16)
    source: str = Field(default="keyword", max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Suppression(SQLModel, table=True):
    """An erased contact's opted-out address, kept only as a keyed hash: the opt-out still holds
    for whoever gives that address again (see bot.invitations.suppression)."""

    __tablename__ = "suppression"

    channel: str = Field(primary_key=True, max_length=16)
    address_hash: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """An API key, stored as a SHA-256 hash; the key itself is shown once."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # Space-separated: triggers, read, admin (admin may do everything).
    scopes: str = Field(
        default="admin", max_length=64, sa_column_kwargs={"server_default": "admin"}
    )
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class LinkClaim(SQLModel, table=True):
    """The one Telegram chat a deep link was used from: a second chat is refused."""

    __tablename__ = "link_claim"

    digest: str = Field(primary_key=True, max_length=64)
    chat_id: str = Field(max_length=32)
    contact_id: int = Field(foreign_key="contact.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class InstanceSecret(SQLModel, table=True):
    """Secrets the instance generates for itself (link signing) when none is configured."""

    __tablename__ = "instance_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class CommentAnalysis(SQLModel, table=True):
    """What the text analysis made of a response's comment, under one version of its themes.

    A response whose row is missing, or carries another `version` than its survey's theme book,
    is (re)analysed by the tagging job; its themes are in `response_theme`.
    """

    __tablename__ = "comment_analysis"
    __table_args__ = (sa.Index("ix_comment_analysis_survey_version", "survey_id", "version"),)

    response_id: int = Field(
        sa_column=Column(
            sa.ForeignKey("response.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    survey_id: int = Field(foreign_key="survey.id")
    version: str = Field(max_length=32)
    # What was analysed: a new score or a comment of another length is analysed again.
    score: int
    comment_length: int
    # -1: the words are negative, 1: positive, 0: neither or mixed.
    polarity: int = 0
    # The score's band and the words disagree (a 9 with "slow and rude").
    disagrees: bool = False
    analysed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class ResponseTheme(SQLModel, table=True):
    """One theme of one response's comment (zero or more per response)."""

    __tablename__ = "response_theme"
    __table_args__ = (sa.Index("ix_response_theme_survey_theme", "survey_id", "theme"),)

    response_id: int = Field(
        sa_column=Column(
            sa.ForeignKey("response.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    theme: str = Field(primary_key=True, max_length=64)
    survey_id: int = Field(foreign_key="survey.id")
