"""/api/v1/surveys/{key}/themes: each theme's count per band, its pull on the score, its change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bot.http.deps import ReadUowDep
from bot.http.insight_params import FILTER_DESCRIPTION, filters_from
from bot.http.schemas import API_ERRORS, API_SCOPES
from bot.insight.scores import comparison_period, find_survey
from bot.insight.theme_counts import theme_report
from bot.runtime.services import ServicesDep

router = APIRouter(prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["themes"])


@router.get("/surveys/{key}/themes", description=FILTER_DESCRIPTION)
async def themes(
    key: str,
    request: Request,
    uow: ReadUowDep,
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or ISO 8601")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or ISO 8601")] = None,
    compare: Annotated[
        str | None,
        Query(description="previous: against the period of the same length before; or none"),
    ] = None,
    compare_from: Annotated[str | None, Query(description="start of the period to compare")] = None,
    compare_to: Annotated[str | None, Query(description="end of the period to compare")] = None,
    propose: Annotated[
        bool | None,
        Query(
            description="cluster comments into proposed themes (default: only for a survey"
            " without named themes; with named ones, among the comments none of them covers)"
        ),
    ] = None,
    channel: Annotated[list[str] | None, Query(description="any of these channels")] = None,
    reason: Annotated[list[str] | None, Query(description="any of these reasons")] = None,
    band: Annotated[str | None, Query(description="promoter, passive, detractor, …")] = None,
    q: Annotated[str | None, Query(description="text in the comment")] = None,
) -> dict[str, Any]:
    """Themes of the comments in the period: per theme its count per score band, its share of
    comments, how far it pulls the score (`impact`) and, compared, its change and significance."""
    row = await find_survey(uow, key)
    filters = filters_from(request, from_, to)
    against = comparison_period(compare, compare_from, compare_to, filters, now=services.clock())
    return await theme_report(uow, row, filters, against=against, proposals=propose)
