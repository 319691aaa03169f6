"""/api/v1/responses: one page of a survey's answers, newest first, with the total count."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bot.http.deps import ReadUowDep
from bot.http.schemas import API_ERRORS, API_SCOPES
from bot.insight.scores import find_survey, period

router = APIRouter(
    prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["responses"]
)


class ResponseOut(BaseModel):
    invitation_id: str | None
    survey: str
    contact: str
    channel: str
    score: int
    reason: str | None
    comment: str | None
    answered_at: datetime
    properties: dict[str, Any]


class ResponsesOut(BaseModel):
    data: list[ResponseOut] = Field(description="one page, newest first")
    count: int = Field(description="all responses matching the filters, across pages")


@router.get("/responses", response_model=ResponsesOut)
async def list_responses(
    uow: ReadUowDep,
    survey: Annotated[str, Query(description="survey key")],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ResponsesOut:
    row = await find_survey(uow, survey)
    since, until = period(from_, to)
    rows = await uow.responses.list_for_survey(
        row.id or 0, since=since, until=until, limit=limit, offset=offset
    )
    data = [
        ResponseOut(
            invitation_id=r.invitation_id,
            survey=key,
            contact=external_id,
            channel=r.channel,
            score=r.score,
            reason=r.reason,
            comment=r.comment,
            answered_at=r.answered_at,
            properties=r.properties,
        )
        for r, key, external_id in rows
    ]
    total = await uow.responses.count_for_survey(row.id or 0, since=since, until=until)
    return ResponsesOut(data=data, count=total)
