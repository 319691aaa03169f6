"""Outbound: the outbox of events, webhook subscriptions and their deliveries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", _text(length=40), nullable=False, unique=True),
        sa.Column("type", _text(length=32), nullable=False),
        sa.Column("occurred_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=True),
        sa.Column("invitation_id", _text(length=32), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("data", storage.types.JSONType, nullable=False),
        sa.Column("routed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_event_unrouted", "event", ["routed", "id"])
    op.create_index("ix_event_invitation_id", "event", ["invitation_id"])
    op.create_index("ix_event_response_id", "event", ["response_id"])
    op.create_index("ix_event_contact_id", "event", ["contact_id"])
    op.create_table(
        "webhook",
        sa.Column("id", _text(length=40), primary_key=True),
        sa.Column("url", _text(length=2000), nullable=False),
        sa.Column("events", storage.types.JSONType, nullable=False),
        sa.Column("filters", storage.types.JSONType, nullable=False),
        sa.Column("secret", _text(length=255), nullable=False),
        sa.Column("format", _text(length=16), nullable=False),
        sa.Column("status", _text(length=16), nullable=False),
        sa.Column("disabled_reason", _text(length=500), nullable=True),
        sa.Column("failing_since", storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", _text(length=64), nullable=False),
        sa.Column("webhook_id", _text(length=40), nullable=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", _text(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("lease_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("payload", _text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", _text(length=500), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("first_attempt_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", storage.types.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("target", "event_id", name="uq_delivery_target_event"),
    )
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"])
    op.create_index("ix_delivery_webhook", "delivery", ["webhook_id", "id"])
    op.create_index("ix_delivery_contact_id", "delivery", ["contact_id"])


def downgrade() -> None:
    op.drop_table("delivery")
    op.drop_table("webhook")
    op.drop_table("event")
