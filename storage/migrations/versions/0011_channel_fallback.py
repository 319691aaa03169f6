"""Channel fallback: an invitation's fallback order, its next reminder's channel, failed channels.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channels", storage.types.JSONType, nullable=True))
        batch_op.add_column(sa.Column("remind_on", _text(length=16), nullable=True))
    op.create_table(
        "channel_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "invitation_id", _text(length=32), sa.ForeignKey("invitation.id"), nullable=False
        ),
        sa.Column("channel", _text(length=16), nullable=False),
        sa.Column("reason", _text(length=16), nullable=False),
        sa.Column("code", _text(length=32), nullable=True),
        sa.Column("error", _text(length=500), nullable=True),
        sa.Column("reminder", sa.Boolean(), nullable=False),
        sa.Column("failed_at", storage.types.UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_channel_failure_invitation_id", "channel_failure", ["invitation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_channel_failure_invitation_id", table_name="channel_failure")
    op.drop_table("channel_failure")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("remind_on")
        batch_op.drop_column("channels")
