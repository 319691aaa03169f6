"""Hardening: scoped idempotency, API-key scopes and last use, archived surveys, test invitations
and one-chat Telegram links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths; PostgreSQL needs room for the caller's scope.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "invitation",
            "idempotency_key",
            type_=sqlmodel.sql.sqltypes.AutoString(length=512),
            existing_nullable=True,
        )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scopes",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="admin",
            )
        )
        batch_op.add_column(
            sa.Column("last_used_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "link_claim",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("digest"),
    )


def downgrade() -> None:
    op.drop_table("link_claim")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("scopes")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("test")
        batch_op.drop_column("request_hash")
