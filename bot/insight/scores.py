"""Score reports: database histograms turned into the report object by the scoring functions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import NotFound, Unprocessable
from bot.insight.filters import Filters, band_range
from bot.insight.periods import PeriodError, parse_period, previous_period
from storage.models import SurveyRow
from storage.repositories.dimensions import FIELDS, PERIODS, PROPERTY_NAME, Selection
from storage.repositories.reports import GroupKey, Histogram, Reach
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from surveys.scoring import ScoreSummary, compare_periods, summarize

# The property names an unknown --group-by lists at most (a survey may have many).
NAMES_LISTED = 30
MAX_GROUP_FIELDS = 4
Period = tuple[datetime | None, datetime | None]
Job = Callable[[UnitOfWork], Awaitable[Any]]


def selection(row: SurveyRow, filters: Filters, survey: Survey | None = None) -> Selection:
    """The storage selection a survey's filters name (a band becomes its score range)."""
    survey = survey or to_domain(row)
    return Selection(
        survey_id=row.id or 0,
        since=filters.since,
        until=filters.until,
        channels=filters.channels,
        reasons=filters.reasons,
        scores=band_range(survey, filters.band) if filters.band else None,
        properties=filters.properties,
        text=filters.text,
    )


def summary(survey: Survey, histogram: Histogram) -> ScoreSummary:
    return summarize(survey.metric.value, survey.scale_range, survey.first_positive, histogram)


def comparison_period(
    compare: str | None,
    compare_from: str | None,
    compare_to: str | None,
    filters: Filters,
    *,
    now: datetime,
) -> Period | None:
    """The period a report compares with: `previous` (the same length before), two explicit
    bounds, or none; Unprocessable naming the parameter when it cannot be had."""
    if compare_from or compare_to:
        if compare not in (None, "", "period"):
            raise Unprocessable(
                "give compare=previous or compare_from/compare_to, not both", field="compare"
            )
        try:
            return parse_period(compare_from, compare_to, names=("compare_from", "compare_to"))
        except PeriodError as exc:
            raise Unprocessable(str(exc), field=exc.field) from exc
    if compare in (None, "", "none"):
        return None
    if compare != "previous":
        raise Unprocessable(
            "compare must be previous or none (or give compare_from and compare_to)",
            field="compare",
        )
    if filters.since is None:
        raise Unprocessable(
            "compare=previous needs a period to compare: give from (and to)", field="compare"
        )
    return previous_period(filters.since, filters.until or max(now, filters.since))


async def check_groups(uow: UnitOfWork, survey_id: int, group_by: Sequence[str]) -> None:
    """Unprocessable naming `group_by` for a name that is neither a field, a period nor a
    property any response of the survey has (listing the ones that work)."""
    if len(group_by) > MAX_GROUP_FIELDS:
        raise Unprocessable(f"group by at most {MAX_GROUP_FIELDS} fields at once", field="group_by")
    if len(set(group_by)) != len(group_by):
        raise Unprocessable("a field is named twice in group_by", field="group_by")
    for name in group_by:
        if name in FIELDS + PERIODS:
            continue
        if PROPERTY_NAME.match(name) and await uow.reports.has_property(survey_id, name):
            continue
        names = await uow.reports.property_names(survey_id, limit=NAMES_LISTED + 1)
        listed = ", ".join(names[:NAMES_LISTED]) + (", …" if len(names) > NAMES_LISTED else "")
        raise Unprocessable(
            f"cannot group by {name!r}: it is not a field and no response of this survey has"
            f" such a property; group by {', '.join(FIELDS + PERIODS)}"
            + (f" or a property: {listed}" if names else " (no response has properties)"),
            field="group_by",
        )


async def build_report(
    uow: UnitOfWork,
    row: SurveyRow,
    filters: Filters | None = None,
    *,
    group_by: Sequence[str] = (),
    against: Period | None = None,
    funnel: bool = True,
    reach: bool = True,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> dict[str, Any]:
    """The report object for one survey: overall and per group, with response rates, the
    funnel and, with `against`, the change from that period and whether it is significant.

    With `sessions` (read-only ones) its counts run at the same time, each on a connection of
    its own: they are independent scans, and the database has cores to spare for them.
    """
    filters = filters or Filters()
    group_by = tuple(group_by)
    await check_groups(uow, row.id or 0, group_by)
    survey = to_domain(row)
    chosen = selection(row, filters, survey)
    # Per-group changes only where groups exist in both periods: not for time buckets.
    by = group_by if group_by and not set(group_by) & set(PERIODS) else ()
    before = selection(row, filters.with_period(*against), survey) if against else None
    jobs: dict[str, Job] = {
        "histograms": lambda u: u.reports.histograms(chosen, group_by),
        "reach": lambda u: _reaches(u, chosen, group_by, wanted=reach),
    }
    if before is not None:
        jobs["previous"] = lambda u: u.reports.histograms(before, by)
    if funnel:
        jobs["funnel"] = lambda u: u.reports.funnel(chosen)
    counted = await gather(uow, sessions, jobs)
    total, groups = counted["histograms"]
    overall_reach, grouped_reach = counted["reach"]

    overall = summary(survey, total)
    report: dict[str, Any] = {"survey": survey.key, **overall.as_dict()}
    report.update(_reach(overall_reach))
    report["period"] = _period(filters.since, filters.until)
    report["filters"] = filters.query()
    report["group_by"] = list(group_by)

    previous_groups: dict[GroupKey, Histogram] = {}
    if against is not None:
        previous_total, previous_groups = counted["previous"]
        previous = summary(survey, previous_total)
        report["comparison"] = {
            "period": _period(*against),
            "previous": _brief(previous),
            **compare_periods(previous, overall).as_dict(),
        }

    group_reach = grouped_reach[1] if grouped_reach else {}
    report["groups"] = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v or "") for v in k)):
        current = summary(survey, groups[key])
        item: dict[str, Any] = {"group": dict(zip(group_by, key, strict=True))}
        item.update(current.as_dict())
        item.update(_reach(group_reach.get(key, Reach()) if grouped_reach else None))
        if against is not None and key in previous_groups:
            previous = summary(survey, previous_groups[key])
            item["comparison"] = {
                "previous": _brief(previous),
                **compare_periods(previous, current).as_dict(),
            }
        report["groups"].append(item)
    if funnel:
        report["funnel"] = counted["funnel"]
    return report


async def gather(
    uow: UnitOfWork,
    sessions: async_sessionmaker[AsyncSession] | None,
    jobs: Mapping[str, Job],
) -> dict[str, Any]:
    """Run read-only jobs: on `uow` one after the other, or with `sessions` all at once, each
    in a unit of work of its own."""
    if sessions is None or len(jobs) < 2:
        return {name: await job(uow) for name, job in jobs.items()}

    async def alone(job: Job) -> Any:
        async with UnitOfWork(sessions) as own:
            return await job(own)

    results = await asyncio.gather(*(alone(job) for job in jobs.values()))
    return dict(zip(jobs, results, strict=True))


async def _reaches(
    uow: UnitOfWork, chosen: Selection, group_by: tuple[str, ...], *, wanted: bool
) -> tuple[Reach | None, tuple[Reach, dict[GroupKey, Reach]] | None]:
    """The overall reach and the groups' (one pass over the invitations when grouped: every
    invitation is in exactly one group, so the total is their sum)."""
    if not wanted:
        return None, None
    if group_by:
        grouped = await uow.reports.reach(chosen, group_by)
        if grouped is not None:
            return grouped[0], grouped
    overall = await uow.reports.reach(chosen)
    return (overall[0] if overall else None), None


def _reach(reach: Reach | None) -> dict[str, Any]:
    if reach is None:
        return {"sent": None, "answered": None, "response_rate": None}
    return {"sent": reach.sent, "answered": reach.answered, "response_rate": reach.rate}


def _brief(previous: ScoreSummary) -> dict[str, Any]:
    return {
        "responses": previous.responses,
        "score": previous.score,
        "interval": list(previous.interval) if previous.interval else None,
        "average": previous.average,
        "small_sample": previous.small_sample,
    }


def _period(since: datetime | None, until: datetime | None) -> dict[str, str | None]:
    return {
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
    }


async def find_survey(uow: UnitOfWork, key: str) -> SurveyRow:
    """The stored survey with this key, or NotFound naming the survey."""
    row = await uow.surveys.get_by_key(key)
    if row is None:
        raise NotFound(f"survey {key!r} does not exist", field="survey")
    return row


def period(from_: str | None, to: str | None) -> Period:
    """The report period a request names (`from`, `to`), or Unprocessable naming the bound."""
    try:
        return parse_period(from_, to)
    except PeriodError as exc:
        raise Unprocessable(str(exc), field=exc.field) from exc
