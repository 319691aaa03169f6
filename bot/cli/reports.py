"""`surveybot report`: a survey's score over a period, overall and by groups, compared, with its funnel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import fail, out, table
from bot.cli.insight_options import (
    BandOption,
    ChannelOption,
    FromOption,
    PropertyOption,
    ReasonOption,
    SearchOption,
    ToOption,
    cli_filters,
    on_survey,
    option_message,
)

if TYPE_CHECKING:
    from rich.table import Table

    from bot.insight.filters import Filters

LABELS = {"nps": "NPS", "csat": "CSAT %", "ces": "CES % agree"}


def report(
    survey: Annotated[str, typer.Option("--survey", help="Survey key")],
    from_: FromOption = None,
    to: ToOption = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            metavar="FIELD",
            help="channel, reason, day, week, month, quarter, year or a property name"
            " (repeatable: groups by each combination)",
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            metavar="previous",
            help="previous: against the period of the same length before",
        ),
    ] = None,
    compare_from: Annotated[
        str | None,
        typer.Option("--compare-from", metavar="DATE", help="Start of the period to compare with"),
    ] = None,
    compare_to: Annotated[
        str | None,
        typer.Option("--compare-to", metavar="DATE", help="End of the period to compare with"),
    ] = None,
    channel: ChannelOption = None,
    reason: ReasonOption = None,
    band: BandOption = None,
    prop: PropertyOption = None,
    search: SearchOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report object as JSON")
    ] = False,
) -> None:
    """Score a survey over a period, overall and by groups, with 95 % intervals and the change."""
    from bot.errors import ServiceError
    from bot.insight.scores import build_report, comparison_period

    filters = cli_filters(from_, to, channel, reason, band, prop, search)
    fields: list[str] = []
    for value in group_by or ():
        fields.extend(part.strip() for part in value.split(",") if part.strip())
    try:
        against = comparison_period(
            compare, compare_from, compare_to, filters, now=datetime.now(UTC)
        )
    except ServiceError as exc:
        fail(option_message(exc).replace("compare_from", "--compare-from"))
    result = on_survey(
        survey, lambda uow, row: build_report(uow, row, filters, group_by=fields, against=against)
    )
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(_report_table(result, filters))
    if result.get("comparison"):
        out.print(_comparison_line(result))
    if any(g.get("small_sample") for g in result["groups"]) or result["small_sample"]:
        out.print("n < 30: a small sample; its interval is wide, read it with care.")
    out.print(_precision_line(result))
    out.print(_funnel_line(result["funnel"]))


def _fmt(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _interval(item: dict[str, Any], metric: str) -> str:
    """The 95 % interval as an interval: `40.1–77.3 %` (an NPS interval is in points)."""
    interval = item.get("interval")
    if not interval:
        return "—"
    low, high = interval
    return f"{low:.1f}–{high:.1f}" + ("" if metric == "nps" else " %")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _change(item: dict[str, Any]) -> str:
    change = item.get("comparison")
    if not change or change.get("difference") is None:
        return ""
    mark = " *" if change["significant"] else ""
    return f"{change['difference']:+.1f}{mark}"


def _report_table(result: dict[str, Any], filters: Filters) -> Table:
    metric = result["metric"]
    compared = any("comparison" in g for g in result["groups"]) or "comparison" in result
    columns = ["group", "n", LABELS[metric], "95 % CI", "avg", "resp. rate"]
    if compared:
        columns.append("change")
    columns.append("note")
    title = f"{result['survey']} ({metric.upper()})"
    described = filters.describe()
    grid = table(*columns, title=f"{title}: {described}" if described else title)
    for column in grid.columns[1:6]:
        column.justify = "right"

    def add(name: str, item: dict[str, Any]) -> None:
        cells = [
            name,
            str(item["responses"]),
            _fmt(item["score"]),
            _interval(item, metric),
            _fmt(item["average"], 2),
            _rate(item.get("response_rate")),
        ]
        if compared:
            cells.append(_change(item))
        cells.append("n < 30" if item.get("small_sample") else "")
        grid.add_row(*cells)

    add("all", result)
    for group in result.get("groups", []):
        name = ", ".join(
            f"{field}={'(none)' if value is None else value}"
            for field, value in group["group"].items()
        )
        add(name, group)
    return grid


def _comparison_line(result: dict[str, Any]) -> str:
    comparison = result["comparison"]
    period = comparison["period"]
    previous = comparison["previous"]
    unit = " points" if result["metric"] == "nps" else " % points"
    if comparison["difference"] is None:
        return f"change: no responses to compare with ({period['from']} to {period['to']})"
    verdict = "significant" if comparison["significant"] else "not significant"
    low, high = comparison["interval"]
    return (
        f"change against {period['from'][:10]}…{period['to'][:10]}"
        f" (score {_fmt(previous['score'])}, n {previous['responses']}):"
        f" {comparison['difference']:+.1f}{unit} (95 % CI {low:+.1f} to {high:+.1f}),"
        f" {comparison['test']} p = {comparison['p_value']:.3f}, {verdict} at 95 %"
        " (* marks significant changes in the table)"
    )


def _precision_line(result: dict[str, Any]) -> str:
    needed = result["n_needed"]
    if needed["more"] == 0:
        return (
            f"precision: a margin of error of {needed['margin']:.0f} points reached"
            f" ({result['responses']} responses)"
        )
    return (
        f"precision: {needed['more']} more responses would bring the margin of error down to"
        f" {needed['margin']:.0f} points ({needed['responses']} in all)"
    )


def _funnel_line(funnel: dict[str, Any]) -> str:
    skipped = sum(funnel["skipped"].values())
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(funnel["skipped"].items()))
    rate = funnel["response_rate"]
    return (
        f"funnel: {funnel['triggered']} triggered → {skipped} skipped"
        + (f" ({reasons})" if reasons else "")
        + f", {funnel['pending']} pending, {funnel['cancelled']} cancelled,"
        f" {funnel['failed']} failed → {funnel['sent']} sent ({funnel['delivered']} delivered,"
        f" {funnel['reminded']} reminded, {funnel['opened']} opened) → {funnel['answered']}"
        f" answered ({funnel['answered_after_reminder']} after a reminder,"
        f" {funnel['commented']} with a comment), {funnel['completed']} completed;"
        f" response rate {'—' if rate is None else f'{rate * 100:.1f} %'}" + _fallback_part(funnel)
    )


def _fallback_part(funnel: dict[str, Any]) -> str:
    """ "; 2 sent after a fallback; channels failed: sms undelivered 1, telegram refused 2", when
    any channel failed a question (nothing otherwise)."""
    failures = funnel.get("channel_failures") or {}
    if not failures:
        return ""
    failed = ", ".join(
        f"{channel} {reason} {count}"
        for channel, reasons in sorted(failures.items())
        for reason, count in sorted(reasons.items())
    )
    return f"; {funnel.get('fell_back', 0)} sent after a fallback; channels failed: {failed}"
