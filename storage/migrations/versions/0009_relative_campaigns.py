"""Campaigns timed by contacts' dates: each run's skips counted by reason.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_reasons", storage.types.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_run", schema=None) as batch_op:
        batch_op.drop_column("skip_reasons")
