"""/api/v1/responses: a survey's answers filtered, newest first and paged, or all of them as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from bot.http.deps import ReadUowDep
from bot.http.insight_params import FILTER_DESCRIPTION, filters_from
from bot.http.schemas import API_ERRORS, API_SCOPES
from bot.insight.comments import list_responses
from bot.insight.export import csv_chunks
from bot.insight.scores import find_survey, selection
from bot.runtime.services import ServicesDep

router = APIRouter(
    prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["responses"]
)


class ResponseOut(BaseModel):
    id: int
    invitation_id: str | None
    survey: str
    contact: str
    channel: str
    score: int
    band: str = Field(description="promoter/passive/detractor (NPS) or positive/neutral/negative")
    reason: str | None
    comment: str | None
    themes: list[str] = Field(description="the comment's themes (empty until it is analysed)")
    disagrees: bool | None = Field(
        description="the score and the comment's words disagree (null: no comment, or not yet"
        " analysed)"
    )
    answered_at: datetime
    properties: dict[str, Any]


class ResponsesOut(BaseModel):
    data: list[ResponseOut] = Field(description="one page, newest first")
    count: int = Field(description="all responses matching the filters, across pages")


CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of responses (JSON), or all of them as CSV with format=csv",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/responses",
    response_model=ResponsesOut,
    responses=CSV_ANSWER,
    description=FILTER_DESCRIPTION
    + " With `format=csv`, every matching response (no paging) as CSV, oldest first: one row"
    " per response with its band, themes and every property as a column.",
)
async def get_responses(
    request: Request,
    uow: ReadUowDep,
    services: ServicesDep,
    survey: Annotated[str, Query(description="survey key")],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    channel: Annotated[list[str] | None, Query(description="any of these channels")] = None,
    reason: Annotated[list[str] | None, Query(description="any of these reasons")] = None,
    band: Annotated[str | None, Query(description="promoter, passive, detractor, …")] = None,
    q: Annotated[str | None, Query(description="text in the comment")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Any:
    row = await find_survey(uow, survey)
    filters = filters_from(request, from_, to)
    if format == "csv":
        # Checked before the answer starts: a refused band must be a 422, not a broken file.
        selection(row, filters)
        name = f"{row.key}-responses.csv"
        return StreamingResponse(
            csv_chunks(services.read_sessions, row, filters),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    data, total = await list_responses(uow, row, filters, limit=limit, offset=offset)
    return ResponsesOut(data=[ResponseOut(**item) for item in data], count=total)
