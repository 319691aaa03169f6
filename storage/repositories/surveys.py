"""Stored survey definitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invitation, Response, SurveyRow
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow
from surveys.definitions import Survey

_parsed: dict[tuple[int | None, datetime], Survey] = {}
_PARSED_MAX = 512


def to_domain(row: SurveyRow) -> Survey:
    """The validated survey of a stored row; parsed once per version (every turn needs it)."""
    key = (row.id, row.updated_at)
    survey = _parsed.get(key)
    if survey is None:
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        survey = _parsed[key] = Survey.model_validate(row.definition)
    return survey


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, survey: Survey) -> tuple[SurveyRow, bool]:
        """Create or replace a survey by key; returns the row and whether it was new."""
        now = utcnow()
        definition = survey.model_dump(mode="json", exclude_defaults=True)
        definition["scale"] = list(survey.scale_range)
        definition["positive_from"] = survey.first_positive
        stmt = upsert_insert(self.session, SurveyRow).values(
            key=survey.key,
            metric=survey.metric.value,
            definition=definition,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "metric": stmt.excluded.metric,
                "definition": stmt.excluded.definition,
                "updated_at": now,
            },
        ).returning(SurveyRow.id, SurveyRow.created_at)
        row_id, created_at = (await self.session.execute(stmt)).one()
        row = await self.session.get(SurveyRow, row_id, populate_existing=True)
        assert row is not None
        return row, created_at == now

    async def get_by_key(self, key: str) -> SurveyRow | None:
        result = await self.session.execute(select(SurveyRow).where(SurveyRow.key == key))
        return result.scalar_one_or_none()

    async def get(self, survey_id: int) -> SurveyRow | None:
        return await self.session.get(SurveyRow, survey_id)

    async def list(self) -> Sequence[SurveyRow]:
        result = await self.session.execute(select(SurveyRow).order_by(SurveyRow.key))
        return result.scalars().all()

    async def set_archived(self, key: str, at: datetime | None) -> tuple[SurveyRow, bool] | None:
        """Archive (`at`) or un-archive (None) a survey; the row and whether it changed.

        Archiving an archived survey keeps the first time (it answers "already archived").
        """
        row = await self.get_by_key(key)
        if row is None:
            return None
        if (row.archived_at is None) == (at is None):
            return row, False
        row.archived_at = at
        await self.session.flush()
        return row, True

    async def counts(self, survey_id: int) -> tuple[dict[str, int], int]:
        """The survey's invitations by status and its responses, leaving out test runs."""
        by_status = (
            select(Invitation.status, func.count())
            .where(Invitation.survey_id == survey_id, Invitation.test == false())
            .group_by(Invitation.status)
        )
        responses = (
            select(func.count())
            .select_from(Response)
            .outerjoin(Invitation, Invitation.id == Response.invitation_id)
            .where(
                Response.survey_id == survey_id,
                func.coalesce(Invitation.test, false()) == false(),
            )
        )
        statuses = {row[0]: row[1] for row in (await self.session.execute(by_status)).all()}
        return statuses, int((await self.session.execute(responses)).scalar_one())
