"""/api/v1/surveys/{key}/scores: the report object, overall and by groups, compared, with the funnel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bot.http.deps import ReadUowDep
from bot.http.insight_params import FILTER_DESCRIPTION, GroupBy, filters_from, group_fields
from bot.http.insight_schemas import ReportOut
from bot.http.schemas import API_ERRORS, API_SCOPES
from bot.insight.scores import build_report, comparison_period, find_survey
from bot.runtime.services import ServicesDep

router = APIRouter(prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["scores"])


@router.get(
    "/surveys/{key}/scores",
    response_model=ReportOut,
    response_model_exclude_unset=True,
    response_model_by_alias=True,
    description=FILTER_DESCRIPTION,
)
async def scores(
    key: str,
    request: Request,
    uow: ReadUowDep,
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or ISO 8601")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or ISO 8601")] = None,
    group_by: GroupBy = None,
    compare: Annotated[
        str | None,
        Query(description="previous: against the period of the same length before; or none"),
    ] = None,
    compare_from: Annotated[str | None, Query(description="start of the period to compare")] = None,
    compare_to: Annotated[str | None, Query(description="end of the period to compare")] = None,
    channel: Annotated[list[str] | None, Query(description="any of these channels")] = None,
    reason: Annotated[list[str] | None, Query(description="any of these reasons")] = None,
    band: Annotated[str | None, Query(description="promoter, passive, detractor, …")] = None,
    q: Annotated[str | None, Query(description="text in the comment")] = None,
) -> dict[str, Any]:
    """The report object: score, interval, distribution, response rate, groups, change.

    A bad parameter is a 422 naming it: an unknown `group_by`, a `from` not before `to`,
    `compare=previous` without a period, an unknown `band` or filter parameter."""
    row = await find_survey(uow, key)
    filters = filters_from(request, from_, to)
    against = comparison_period(compare, compare_from, compare_to, filters, now=services.clock())
    return await build_report(
        uow,
        row,
        filters,
        group_by=group_fields(group_by),
        against=against,
        sessions=services.read_sessions,
    )
