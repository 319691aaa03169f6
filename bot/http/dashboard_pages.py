"""The dashboard's pages as HTML: Jinja2 templates (autoescaped) filled from plain values.

The render functions take hand-built values (a `Dashboard`, an `InvitationDetail`) and return
text, so the pages are tested without a database. Every number shown is written one way (one
decimal for scores and intervals, whole counts, percentages for rates) and carried raw in a
`data-value` beside a stable `data-metric` name, so a test can hold the page against the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bot.errors import Unprocessable
from bot.insight import charts
from bot.insight.dashboard_model import Dashboard, SegmentRow
from bot.insight.filters import PROPERTY_PREFIX
from bot.invitations.timeline import InvitationDetail

Params = Mapping[str, Sequence[str]]

GRANULARITIES = ("day", "week", "month", "quarter")
# The segment table's columns a `sort` may name, and the value each sorts by.
SORTS: dict[str, Callable[[SegmentRow], Any]] = {
    "value": lambda r: None if r.value is None else str(r.value).casefold(),
    "responses": lambda r: r.responses,
    "score": lambda r: r.score,
    "response-rate": lambda r: r.response_rate,
    "change": lambda r: r.change,
}
INTERVAL_METHODS = {
    "wilson": "Wilson score interval",
    "adjusted-wald": "Adjusted Wald interval",
    "t": "t-interval of the mean",
}
# Parameters the form carries along unchanged when they are in the URL (no control of their own).
KEPT = ("reason", "band", "q", "sort", "order")
# Where a refused parameter's message is shown: next to its control, else above the form.
SLOTS = {"from": "from", "to": "to", "channel": "channel", "segment": "segment"}
SLOTS |= {"granularity": "granularity", "property_name": "property"}
SLOTS |= {"property_value": "property", "sort": "segments", "order": "segments"}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.http", "templates/dashboard"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        count=lambda n: f"{n:,}",
        num=lambda v, digits=1: "—" if v is None else charts.number(v, digits),
        signed=lambda v: "—" if v is None else charts.signed(v),
        percent=lambda v: "—" if v is None else f"{charts.number(v * 100)} %",
        raw=raw,
        when=lambda at: at.strftime("%Y-%m-%d %H:%M UTC"),
        pvalue=p_value,
    )
    return env


def raw(value: object) -> str:
    """A value for a data-value attribute: floats as JSON writes them, booleans as JSON's."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return charts.raw(value)
    return str(value)


def p_value(p: float | None) -> str:
    if p is None:
        return "—"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def link(path: str, params: Params, changes: Mapping[str, str | None] | None = None) -> str:
    """`path` with the parameters, some replaced (None drops one): links that keep the filters."""
    merged = {k: list(v) for k, v in params.items()}
    for name, value in (changes or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = [value]
    pairs = [(k, v) for k, vs in merged.items() for v in vs if v != ""]
    return path + ("?" + urlencode(pairs) if pairs else "")


def survey_path(key: str) -> str:
    return "/dashboard/surveys/" + quote(key, safe="")


def sort_segments(
    rows: Sequence[SegmentRow], sort: str | None, order: str | None
) -> tuple[SegmentRow, ...]:
    """The rows sorted by a column (rows without a value last); Unprocessable for a bad one."""
    if order not in (None, "asc", "desc"):
        raise Unprocessable("order must be asc or desc", field="order")
    if sort is None:
        return tuple(rows)
    if sort not in SORTS:
        raise Unprocessable(f"sort must be one of {', '.join(SORTS)}", field="sort")
    key = SORTS[sort]
    present = [r for r in rows if key(r) is not None]
    present.sort(key=key, reverse=(order or default_order(sort)) == "desc")
    return (*present, *(r for r in rows if key(r) is None))


def default_order(sort: str) -> str:
    return "asc" if sort == "value" else "desc"


def quick_periods(today: date) -> tuple[tuple[str, date, date], ...]:
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return (
        ("Last 7 days", today - timedelta(days=6), today),
        ("Last 30 days", today - timedelta(days=29), today),
        ("Last 90 days", today - timedelta(days=89), today),
        ("This quarter", quarter, today),
    )


def period_text(since: datetime | None, until: datetime | None) -> str:
    """A period as its first and last days (`until` is exclusive)."""
    first = since.date().isoformat() if since else "the first response"
    last = (until - timedelta(microseconds=1)).date().isoformat() if until else "now"
    return f"{first} – {last}"


@dataclass(frozen=True, slots=True)
class FilterForm:
    """The filter form as the page shows it: the request's values, the choices, the errors."""

    action: str
    since: str
    until: str
    channels: tuple[str, ...]
    channel_options: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]
    property_names: tuple[str, ...]
    property_name: str
    property_value: str
    segment: str
    segment_options: tuple[str, ...]
    granularity: str
    granularity_shown: str
    kept: tuple[tuple[str, str], ...]
    quick: tuple[tuple[str, str, bool], ...]
    chips: tuple[tuple[str, str], ...]
    errors: Mapping[str, str] = field(default_factory=dict)


def filter_form(
    key: str,
    params: Params,
    *,
    today: date,
    channels: Sequence[str],
    properties: Sequence[str],
    segment_fields: Sequence[str],
    segment: str,
    granularity: str,
    error: Unprocessable | None = None,
) -> FilterForm:
    path = survey_path(key)

    def first(name: str) -> str:
        values = params.get(name) or [""]
        return values[0]

    chosen = tuple(v for vs in params.get("channel", ()) for v in vs.split(",") if v.strip())
    props = tuple(
        (name[len(PROPERTY_PREFIX) :], value)
        for name, values in params.items()
        if name.startswith(PROPERTY_PREFIX)
        for value in values
    )
    chips = tuple(
        (f"{name[len(PROPERTY_PREFIX) :]} = {value}" if name.startswith(PROPERTY_PREFIX)
         else f"{name} = {value}", link(path, params, {name: None}))
        for name, values in params.items()
        if name.startswith(PROPERTY_PREFIX) or name in ("reason", "band", "q")
        for value in values
    )  # fmt: skip
    quick = tuple(
        (
            label,
            link(path, params, {"from": start.isoformat(), "to": end.isoformat()}),
            (first("from"), first("to")) == (start.isoformat(), end.isoformat()),
        )
        for label, start, end in quick_periods(today)
    )
    errors: dict[str, str] = {}
    if error is not None:
        name = error.field or ""
        slot = SLOTS.get(name) or ("property" if name.startswith(PROPERTY_PREFIX) else "general")
        errors[slot] = error.message
    return FilterForm(
        action=path,
        since=first("from"),
        until=first("to"),
        channels=chosen,
        channel_options=tuple(dict.fromkeys([*channels, *chosen])),
        properties=props,
        property_names=tuple(properties),
        property_name=first("property_name"),
        property_value=first("property_value"),
        segment=segment,
        segment_options=tuple(dict.fromkeys([*segment_fields, *([segment] if segment else [])])),
        granularity=first("granularity"),
        granularity_shown=granularity,
        kept=tuple((name, value) for name in KEPT for value in params.get(name, ())),
        quick=quick,
        chips=chips,
        errors=errors,
    )


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_survey(
    dashboard: Dashboard,
    params: Params,
    *,
    today: date,
    csrf: str,
    sort: str | None = None,
    order: str | None = None,
) -> str:
    """The first screen of one survey; Unprocessable (field sort/order) for a bad sort."""
    path = survey_path(dashboard.survey)
    rows = sort_segments(dashboard.segments, sort, order)
    columns = []
    for column in SORTS:
        current = sort == column
        direction = order or default_order(column)
        flipped = "asc" if direction == "desc" else "desc"
        target = flipped if current else default_order(column)
        columns.append(
            {
                "name": column,
                "href": link(path, params, {"sort": column, "order": target}),
                "sorted": (direction if current else ""),
            }
        )
    form = filter_form(
        dashboard.survey,
        params,
        today=today,
        channels=dashboard.channels,
        properties=dashboard.properties,
        segment_fields=dashboard.segment_fields,
        segment=dashboard.segment_field,
        granularity=dashboard.granularity,
    )
    h = dashboard.headline
    metric = dashboard.metric
    charts_svg = {
        "trend": charts.trend_chart(dashboard.trend, metric=metric),
        "distribution": charts.distribution_chart(dashboard.distribution),
        "funnel": charts.funnel_chart(dashboard.funnel),
        "volume": charts.themes_by_volume_chart(dashboard.themes),
        "pull": charts.themes_by_pull_chart(dashboard.themes),
    }
    back = link(path, params)
    return render(
        "survey.html",
        d=dashboard,
        h=h,
        metric=metric,
        unit="points" if metric == "nps" else "%",
        score=lambda v: "—" if v is None else charts.score_text(v, metric),
        period=period_text(dashboard.filters.since, dashboard.filters.until),
        previous=period_text(*h.previous_period),
        filters_text=dashboard.filters.describe(),
        form=form,
        # The charts escape their own text (bot.insight.charts).
        charts={name: Markup(svg) for name, svg in charts_svg.items()},
        segments=rows,
        columns=columns,
        timeline_link=lambda invitation_id: link(
            "/dashboard/invitations/" + quote(invitation_id, safe=""), {"back": [back]}
        ),
        survey_link=survey_path,
        methods=INTERVAL_METHODS,
        csrf=csrf,
    )


def render_filters_error(
    key: str,
    params: Params,
    error: Unprocessable,
    *,
    today: date,
    channels: Sequence[str] = (),
    properties: Sequence[str] = (),
    segment_fields: Sequence[str] = (),
    csrf: str,
) -> str:
    """The survey's filter form with the refused parameter's message beside its control."""
    form = filter_form(
        key,
        params,
        today=today,
        channels=channels,
        properties=properties,
        segment_fields=segment_fields,
        segment=(params.get("segment") or [""])[0],
        granularity="",
        error=error,
    )
    return render(
        "filters_error.html",
        key=key,
        form=form,
        csrf=csrf,
    )


def render_surveys(rows: Sequence[tuple[str, str, bool]], *, csrf: str) -> str:
    """The list of surveys: (key, metric, archived) each linking to its page."""
    return render("surveys.html", rows=rows, survey_link=survey_path, csrf=csrf)


def render_signin(*, next_path: str, token: str, error: str | None = None) -> str:
    return render("signin.html", next_path=next_path, token=token, error=error, csrf=None)


def render_invitation(detail: InvitationDetail, *, back: str, csrf: str) -> str:
    return render("invitation.html", detail=detail, row=detail.invitation, back=back, csrf=csrf)


def render_error(title: str, message: str, *, csrf: str | None) -> str:
    return render("error.html", title=title, message=message, csrf=csrf)
