"""Privacy: the suppression list of erased contacts' opted-out addresses (keyed hashes), and
the indexes retention purges by.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppression",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address_hash"),
    )
    op.create_index("ix_message_created", "message", ["created_at"])
    commented = sa.text("comment IS NOT NULL")
    op.create_index(
        "ix_response_commented",
        "response",
        ["answered_at"],
        sqlite_where=commented,
        postgresql_where=commented,
    )


def downgrade() -> None:
    op.drop_index("ix_response_commented", table_name="response")
    op.drop_index("ix_message_created", table_name="message")
    op.drop_table("suppression")
