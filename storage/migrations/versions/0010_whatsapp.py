"""WhatsApp: an index to find when a contact last wrote on a channel (its 24-hour window).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["contact_id", "channel", "direction", "created_at"]


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.create_index("ix_message_contact_last", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_index("ix_message_contact_last")
