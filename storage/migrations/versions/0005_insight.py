"""Insight: the themes of comments (their analysis and one row per theme) and report indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comment_analysis",
        sa.Column(
            "response_id",
            sa.Integer(),
            sa.ForeignKey("response.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment_length", sa.Integer(), nullable=False),
        sa.Column("polarity", sa.Integer(), nullable=False),
        sa.Column("disagrees", sa.Boolean(), nullable=False),
        sa.Column("analysed_at", storage.types.UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_comment_analysis_survey_version", "comment_analysis", ["survey_id", "version"]
    )
    op.create_table(
        "response_theme",
        sa.Column(
            "response_id",
            sa.Integer(),
            sa.ForeignKey("response.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "theme", sqlmodel.sql.sqltypes.AutoString(length=64), primary_key=True, nullable=False
        ),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("survey.id"), nullable=False),
    )
    op.create_index("ix_response_theme_survey_theme", "response_theme", ["survey_id", "theme"])
    # Response rates count the invitations a survey created in a period.
    op.create_index("ix_invitation_survey_created", "invitation", ["survey_id", "created_at"])
    # Reports leave out `surveybot try` conversations: an index of just those few.
    op.create_index(
        "ix_invitation_test",
        "invitation",
        ["id"],
        postgresql_where=sa.text("test IS TRUE"),
        sqlite_where=sa.text("test IS 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_invitation_test", table_name="invitation")
    op.drop_index("ix_invitation_survey_created", table_name="invitation")
    op.drop_index("ix_response_theme_survey_theme", table_name="response_theme")
    op.drop_table("response_theme")
    op.drop_index("ix_comment_analysis_survey_version", table_name="comment_analysis")
    op.drop_table("comment_analysis")
