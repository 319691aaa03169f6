"""Alerts: alert rules, digests and the record of what was sent, health notices.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=False),
        sa.Column("score_max", sa.Integer(), nullable=False),
        sa.Column("filters", storage.types.JSONType, nullable=False),
        sa.Column("emails", storage.types.JSONType, nullable=False),
        sa.Column("webhook_id", _text(length=40), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_alert_rule_survey_id", "alert_rule", ["survey_id"])
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=False),
        sa.Column("every", _text(length=16), nullable=False),
        sa.Column("recipients", storage.types.JSONType, nullable=False),
        sa.Column("send_at", _text(length=5), nullable=False),
        sa.Column("timezone", _text(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", storage.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        "digest_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("digest_id", sa.Integer(), sa.ForeignKey("digest.id"), nullable=False),
        sa.Column("period_start", _text(length=10), nullable=False),
        sa.Column("claimed_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("digest_id", "period_start", name="uq_digest_sent_period"),
    )
    op.create_table(
        "health_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", _text(length=32), nullable=False),
        sa.Column("subject", _text(length=64), nullable=False),
        sa.Column("period", _text(length=40), nullable=False),
        sa.Column("message", _text(length=1000), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "subject", "period", name="uq_health_notice_period"),
    )


def downgrade() -> None:
    op.drop_table("health_notice")
    op.drop_table("digest_sent")
    op.drop_table("digest")
    op.drop_index("ix_alert_rule_survey_id", table_name="alert_rule")
    op.drop_table("alert_rule")
