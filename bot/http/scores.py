"""/api/v1/surveys/{key}/scores: the report object, overall and by group, with the funnel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bot.errors import Unprocessable
from bot.http.deps import ReadUowDep
from bot.http.schemas import API_ERRORS, API_SCOPES
from bot.reports.scores import build_report, find_survey, period

router = APIRouter(prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["scores"])


class ScoreFields(BaseModel):
    """The scoring fields shared by the whole report and each group."""

    metric: str
    responses: int
    score: float | None = Field(description="CSAT/CES % positive, or NPS -100..100; unrounded")
    average: float | None
    margin_of_error: float | None = Field(description="95 % half-width, in the score's units")
    interval: tuple[float, float] | None = Field(description="95 % interval (Wilson for CSAT/CES)")
    small_sample: bool = Field(description="true below 30 responses")
    distribution: dict[str, int]
    promoters: int | None = Field(default=None, description="NPS only")
    passives: int | None = Field(default=None, description="NPS only")
    detractors: int | None = Field(default=None, description="NPS only")
    positive: int | None = Field(default=None, description="CSAT and CES only")


class GroupReport(ScoreFields):
    group: dict[str, str | None]


class Period(BaseModel):
    from_: str | None = Field(alias="from")
    to: str | None


class Funnel(BaseModel):
    """Invitations created in the period, from trigger to answer (reminders included)."""

    triggered: int
    skipped: dict[str, int] = Field(description="Skipped at trigger time, by reason")
    cancelled: int
    failed: int
    pending: int = Field(description="Scheduled or being sent")
    sent: int
    reminded: int = Field(description="Sent at least one reminder")
    opened: int = Field(description="Opened the chat page in a browser (web and email)")
    answered: int = Field(description="Gave a score")
    answered_after_reminder: int
    completed: int = Field(description="Finished the conversation")
    response_rate: float | None = Field(description="answered / sent")


class ReportOut(ScoreFields):
    """The report object of /api/v1/surveys/{key}/scores and `surveybot report --json`."""

    survey: str
    period: Period
    groups: list[GroupReport]
    funnel: Funnel


@router.get(
    "/surveys/{key}/scores",
    response_model=ReportOut,
    response_model_exclude_unset=True,
    response_model_by_alias=True,
)
async def scores(
    key: str,
    uow: ReadUowDep,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or ISO 8601")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or ISO 8601")] = None,
    group_by: Annotated[
        str | None,
        Query(description="channel, reason, month, week, day, or a property some response has"),
    ] = None,
) -> dict[str, Any]:
    """The report object: score, margin of error, interval, distribution, groups.

    An unknown `group_by` or a `from` not before `to` is a 422 naming that parameter."""
    row = await find_survey(uow, key)
    since, until = period(from_, to)
    try:
        return await build_report(uow, row, since=since, until=until, group_by=group_by)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="group_by") from exc
