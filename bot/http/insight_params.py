"""Query parameters the insight routes share: the filters (with property.NAME) and group_by."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from bot.insight.filters import Filters, parse
from bot.insight.scores import period

FILTER_DESCRIPTION = (
    "Filters: `from`, `to`; `channel`, `reason` (repeat them or separate values by commas: any"
    " of them matches); `band` (promoter, passive, detractor, positive, neutral, negative);"
    " `q` (text in the comment); and `property.NAME=VALUE` for any contact or trigger property"
    " (e.g. `property.plan=pro`). An unknown parameter is refused (422 naming it)."
)

GroupBy = Annotated[
    list[str] | None,
    Query(
        description="Fields to group by, repeated or comma-separated: channel, reason, day,"
        " week, month, quarter, year, or a property name (e.g. month,channel)"
    ),
]


def filters_from(request: Request, from_: str | None, to: str | None) -> Filters:
    """The filters of a request's query string (Unprocessable naming a bad parameter)."""
    since, until = period(from_, to)
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return parse(params, since=since, until=until)


def group_fields(values: list[str] | None) -> tuple[str, ...]:
    """group_by as a tuple of names: `month,channel` and repeated parameters alike."""
    names: list[str] = []
    for value in values or ():
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(names)
