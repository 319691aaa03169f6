"""/api/v1/surveys: create, update, list and read survey definitions; archive and un-archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from bot.errors import NotFound
from bot.http.deps import ReadUowDep, UowDep
from bot.http.errors import refuse_unstorable
from bot.http.schemas import API_ERRORS, API_SCOPES, ApiError
from bot.runtime.services import ServicesDep
from bot.runtime.survey_saving import save_survey
from bot.wiring import registry
from storage.models import SurveyRow
from storage.uow import UnitOfWork
from surveys.definitions import Survey

router = APIRouter(
    prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["surveys"]
)


class SurveyOut(BaseModel):
    key: str
    metric: str
    definition: dict[str, Any]
    archived_at: datetime | None = Field(description="set while archived: no new triggers")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SurveyRow) -> SurveyOut:
        return cls(
            key=row.key,
            metric=row.metric,
            definition=row.definition,
            archived_at=row.archived_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class SurveyDetailOut(SurveyOut):
    invitations: dict[str, int] = Field(description="invitations by status (tests left out)")
    responses: int = Field(description="stored answers, imported ones included")


class SurveysOut(BaseModel):
    data: list[SurveyOut]
    count: int


@router.post(
    "/surveys",
    response_model=SurveyOut,
    responses={
        201: {"model": SurveyOut, "description": "Created (200: updated)"},
        409: {"model": ApiError, "description": "The change would move the scale of answers"},
    },
)
async def put_survey(survey: Survey, uow: UowDep, response: Response) -> SurveyOut:
    """Create or update one survey (the YAML shape, as JSON); its scale stays once answered."""
    refuse_unstorable(survey.model_dump(mode="json"))
    row, created = await save_survey(uow, survey, channels=registry.infos())
    await uow.commit()
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return SurveyOut.of(row)


@router.get("/surveys", response_model=SurveysOut)
async def list_surveys(uow: ReadUowDep) -> SurveysOut:
    rows = await uow.surveys.list()
    return SurveysOut(data=[SurveyOut.of(r) for r in rows], count=len(rows))


@router.get("/surveys/{key}", response_model=SurveyDetailOut)
async def get_survey(key: str, uow: ReadUowDep) -> SurveyDetailOut:
    """One survey: its definition, whether it is archived, and its counts."""
    row = await uow.surveys.get_by_key(key)
    if row is None:
        raise _unknown(key)
    invitations, responses = await uow.surveys.counts(row.id or 0)
    return SurveyDetailOut(
        **SurveyOut.of(row).model_dump(), invitations=invitations, responses=responses
    )


@router.post("/surveys/{key}/archive", response_model=SurveyOut)
async def archive_survey(key: str, uow: UowDep, services: ServicesDep) -> SurveyOut:
    """Archive a survey: triggers and campaigns of it are refused; its data and reports stay."""
    return await _set_archived(uow, key, services.clock())


@router.post("/surveys/{key}/unarchive", response_model=SurveyOut)
async def unarchive_survey(key: str, uow: UowDep) -> SurveyOut:
    """Take a survey out of the archive: it takes triggers again."""
    return await _set_archived(uow, key, None)


async def _set_archived(uow: UnitOfWork, key: str, at: datetime | None) -> SurveyOut:
    """Repeatable: archiving an archived survey keeps the time it was first archived."""
    changed = await uow.surveys.set_archived(key, at)
    if changed is None:
        raise _unknown(key)
    await uow.commit()
    return SurveyOut.of(changed[0])


def _unknown(key: str) -> NotFound:
    return NotFound(f"survey {key!r} does not exist", field="key")
