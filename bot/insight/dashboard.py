"""The dashboard's first screen, built from the same reports as the API's scores and themes.

Every number comes from `build_report`, `theme_report` and the responses listing under the
page's filters, so the page and `/api/v1/surveys/{key}/scores?compare=previous` (with the same
from, to and filters) agree to the digit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Unprocessable
from bot.insight.dashboard_model import (
    CommentRow,
    Dashboard,
    DistributionBar,
    FunnelStep,
    Headline,
    SegmentRow,
    ThemeRow,
    TrendPoint,
)
from bot.insight.filters import Filters, band_range, parse
from bot.insight.periods import (
    PeriodError,
    default_period,
    granularity,
    parse_period,
    previous_period,
)
from bot.insight.scores import build_report, check_groups, find_survey, gather, selection
from bot.insight.theme_counts import theme_report
from bot.insight.trend import buckets
from storage.repositories.dimensions import PERIODS
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey

LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
GRANULARITIES = ("day", "week", "month", "quarter")
COMMENTS_SHOWN = 10
THEMES_SHOWN = 8
SEGMENT_FIELDS_LISTED = 20
# Properties shown beside a comment, in this order, when a response has them.
CONTEXT_FIRST = ("ticket_id", "ticket", "agent", "team", "plan")
CONTEXT_MAX = 4
FUNNEL_LABELS = {
    "triggered": "Triggered",
    "skipped": "Skipped",
    "sent": "Sent",
    "delivered": "Delivered",
    "answered": "Answered",
    "commented": "Commented",
}


async def build_dashboard(
    uow: UnitOfWork,
    key: str,
    params: Mapping[str, Sequence[str]],
    *,
    now: datetime,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> Dashboard:
    """The first screen of survey `key` under the query's filters (NotFound, Unprocessable);
    with read-only `sessions` its parts are counted at the same time."""
    row = await find_survey(uow, key)
    survey_id = row.id or 0
    since, until = _period(params, now)
    filters = parse(
        {k: v for k, v in params.items() if k not in ("from", "to")}, since=since, until=until
    )
    report_survey = to_domain(row)
    if filters.band:
        band_range(report_survey, filters.band)  # refused by name before anything is counted
    step = _one(params, "granularity") or granularity(since, until)
    if step not in GRANULARITIES:
        raise Unprocessable(
            f"granularity must be one of {', '.join(GRANULARITIES)}", field="granularity"
        )
    properties = await uow.reports.property_names(survey_id, limit=SEGMENT_FIELDS_LISTED)
    segment = _one(params, "segment") or ("agent" if "agent" in properties else "channel")
    if segment in PERIODS:
        raise Unprocessable("segment by a field or a property, not by time", field="segment")
    try:
        await check_groups(uow, survey_id, (segment,))
    except Unprocessable as exc:
        raise Unprocessable(exc.message.replace("group by", "segment by"), field="segment") from exc

    against = previous_period(since, until)
    # One report gives the headline, the segments and the funnel (its total is the segments'
    # sum, counted in the same scans); the trend needs scores only.
    parts = await gather(
        uow,
        sessions,
        {
            "report": lambda u: build_report(
                u, row, filters, group_by=(segment,), against=against, sessions=sessions
            ),
            "trend": lambda u: build_report(
                u, row, filters, group_by=(step,), funnel=False, reach=False
            ),
            "themes": lambda u: theme_report(u, row, filters, against=against, proposals=False),
            "comments": lambda u: _low_comments(u, row, report_survey, filters),
            "channels": lambda u: u.reports.values(survey_id, "channel"),
        },
    )
    report, trend, themes = parts["report"], parts["trend"], parts["themes"]
    comments, channels = parts["comments"], parts["channels"]
    return Dashboard(
        survey=report_survey.key,
        surveys=tuple(r.key for r in await uow.surveys.list()),
        metric=report_survey.metric.value,
        filters=filters,
        granularity=step,
        headline=_headline(report, against),
        trend=_trend(trend, step, since, until),
        distribution=tuple(
            DistributionBar(score=int(s), count=c, band=report_survey.band(int(s)))
            for s, c in report["distribution"].items()
        ),
        funnel=_funnel(report["funnel"]),
        themes=tuple(_theme(t) for t in themes["themes"][:THEMES_SHOWN]),
        comments=comments,
        segment_fields=tuple(dict.fromkeys(["channel", "reason", *properties])),
        segment_field=segment,
        segments=tuple(_segment(segment, g) for g in report["groups"]),
        channels=tuple(channels),
        properties=tuple(properties),
        generated_at=now,
    )


def period_params(filters: Filters) -> dict[str, str]:
    """The page's period as the API's `from`/`to` dates (an end date is included)."""
    params = {}
    if filters.since is not None:
        params["from"] = filters.since.date().isoformat()
    if filters.until is not None:
        params["to"] = (filters.until - timedelta(days=1)).date().isoformat()
    return params


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v.strip() for v in params.get(name, ()) if v.strip()]
    if len(values) > 1:
        raise Unprocessable(f"{name} may be given once", field=name)
    return values[0] if values else None


def _period(params: Mapping[str, Sequence[str]], now: datetime) -> tuple[datetime, datetime]:
    try:
        since, until = parse_period(_one(params, "from"), _one(params, "to"))
    except PeriodError as exc:
        raise Unprocessable(str(exc), field=exc.field) from exc
    default_since, default_until = default_period(now)
    if since is None and until is None:
        return default_since, default_until
    if since is None:
        assert until is not None
        return until - (default_until - default_since), until
    if until is None:
        until = max(default_until, since + timedelta(days=1))
    return since, until


def _headline(report: dict[str, Any], against: tuple[datetime, datetime]) -> Headline:
    comparison = report.get("comparison") or {}
    previous = comparison.get("previous") or {}
    interval = report.get("interval")
    return Headline(
        metric=report["metric"],
        label=LABELS[report["metric"]],
        unit="points" if report["metric"] == "nps" else "%",
        score=report["score"],
        interval=(interval[0], interval[1]) if interval else None,
        interval_method=report["interval_method"],
        responses=report["responses"],
        small_sample=report["small_sample"],
        average=report["average"],
        previous_score=previous.get("score"),
        previous_period=against,
        change=comparison.get("difference"),
        p_value=comparison.get("p_value"),
        significant=bool(comparison.get("significant")),
        test=comparison.get("test"),
        sent=report["sent"] or 0,
        answered=report["answered"] or 0,
        response_rate=report["response_rate"],
        more_needed=report["n_needed"]["more"],
    )


def _trend(
    report: dict[str, Any], step: str, since: datetime, until: datetime
) -> tuple[TrendPoint, ...]:
    found = {g["group"][step]: g for g in report["groups"]}
    points = []
    for label, start in buckets(step, since, until):
        group = found.get(label)
        interval = group["interval"] if group else None
        points.append(
            TrendPoint(
                label=label,
                start=start,
                score=group["score"] if group else None,
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
                responses=group["responses"] if group else 0,
                small_sample=group["small_sample"] if group else True,
            )
        )
    return tuple(points)


def _funnel(funnel: dict[str, Any]) -> tuple[FunnelStep, ...]:
    steps = []
    for name, label in FUNNEL_LABELS.items():
        if name == "skipped":
            detail = tuple(sorted(funnel["skipped"].items()))
            steps.append(FunnelStep(name, label, sum(c for _, c in detail), detail))
        else:
            steps.append(FunnelStep(name, label, int(funnel[name])))
        failures = funnel.get("channel_failures") or {}
        if name == "sent" and failures:
            # Channel fallback: how many were reached after another channel failed them, and
            # which channels failed why (shown only when some did).
            detail = tuple(
                (f"{channel} {reason}", count)
                for channel, reasons in sorted(failures.items())
                for reason, count in sorted(reasons.items())
            )
            count = int(funnel.get("fell_back", 0))
            steps.append(FunnelStep("fell_back", "After a fallback", count, detail))
    return tuple(steps)


def _theme(theme: dict[str, Any]) -> ThemeRow:
    previous = theme.get("previous") or {"responses": 0}
    return ThemeRow(
        name=theme["theme"],
        responses=theme["responses"],
        share=theme["share"] or 0.0,
        by_band=theme["by_band"],
        impact=theme["impact"],
        previous=previous["responses"],
        change=theme["responses"] - previous["responses"],
    )


def _segment(field: str, group: dict[str, Any]) -> SegmentRow:
    interval = group.get("interval")
    comparison = group.get("comparison") or {}
    return SegmentRow(
        field=field,
        value=group["group"][field],
        responses=group["responses"],
        score=group["score"],
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        small_sample=group["small_sample"],
        response_rate=group.get("response_rate"),
        change=comparison.get("difference"),
        significant=bool(comparison.get("significant")),
    )


async def _low_comments(
    uow: UnitOfWork, row: Any, survey: Survey, filters: Filters
) -> tuple[CommentRow, ...]:
    """The newest comments of the filtered band, or of the low band when none is chosen."""
    low = "detractor" if survey.metric.value == "nps" else "negative"
    chosen = selection(row, filters if filters.band else replace(filters, band=low), survey)
    page = await uow.answers.page(
        replace(chosen, with_comment=True), limit=COMMENTS_SHOWN, offset=0
    )
    return tuple(
        CommentRow(
            invitation_id=item.invitation_id,
            answered_at=item.answered_at,
            score=item.score,
            band=survey.band(item.score),
            comment=item.comment or "",
            themes=item.themes,
            disagrees=bool(item.disagrees),
            channel=item.channel,
            contact=item.contact,
            context=_context(item.properties),
        )
        for item in page
    )


def _context(properties: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    names = [n for n in CONTEXT_FIRST if n in properties]
    names += [n for n in sorted(properties) if n not in names]
    shown = [(n, str(properties[n])) for n in names if isinstance(properties[n], str | int | float)]
    return tuple(shown[:CONTEXT_MAX])
