"""/api/v1/surveys: create, update and list survey definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from bot.http.deps import ReadUowDep, UowDep
from bot.http.schemas import API_ERRORS, API_KEY
from storage.models import SurveyRow
from surveys.definitions import Survey

router = APIRouter(prefix="/api/v1", dependencies=API_KEY, responses=API_ERRORS, tags=["surveys"])


class SurveyOut(BaseModel):
    key: str
    metric: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: SurveyRow) -> SurveyOut:
        return cls(
            key=row.key,
            metric=row.metric,
            definition=row.definition,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class SurveysOut(BaseModel):
    data: list[SurveyOut]
    count: int


@router.post("/surveys", response_model=SurveyOut)
async def put_survey(survey: Survey, uow: UowDep, response: Response) -> SurveyOut:
    """Create or update one survey (the YAML shape, as JSON)."""
    row, created = await uow.surveys.upsert(survey)
    await uow.commit()
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return SurveyOut.of(row)


@router.get("/surveys", response_model=SurveysOut)
async def list_surveys(uow: ReadUowDep) -> SurveysOut:
    rows = await uow.surveys.list()
    return SurveysOut(data=[SurveyOut.of(r) for r in rows], count=len(rows))
