"""`surveybot report`: a survey's score over a period, overall and by group, and its funnel."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import fail, load_settings, out, run, table

if TYPE_CHECKING:
    from rich.table import Table

LABELS = {"nps": "NPS", "csat": "CSAT %", "ces": "CES % agree"}


def report(
    survey: Annotated[str, typer.Option("--survey", help="Survey key")],
    from_: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD) or ISO time")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD) or ISO time")
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option("--group-by", help="channel, reason, month, week, day, or a property name"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report object as JSON")
    ] = False,
) -> None:
    """Score a survey over a period, overall and by group, with 95 % confidence intervals."""
    from bot.errors import ServiceError
    from bot.reports.scores import PeriodError, build_report, parse_period
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    try:
        since, until = parse_period(from_, to, names=("--from", "--to"))
    except PeriodError as exc:
        fail(str(exc))
    settings = load_settings()

    async def main() -> dict[str, Any]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(survey)
                if row is None:
                    fail(f"survey {survey!r} does not exist")
                try:
                    return await build_report(uow, row, since=since, until=until, group_by=group_by)
                except ServiceError as exc:
                    fail(f"--group-by: {exc.message}" if exc.field == "group_by" else exc.message)
                except ValueError as exc:
                    fail(str(exc))

    result = run(main())
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(_report_table(result))
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


def _report_table(result: dict[str, Any]) -> Table:
    metric = result["metric"]
    columns = ("group", "responses", LABELS[metric], "95 % CI", "average", "note")
    grid = table(*columns, title=f"{result['survey']} ({metric.upper()})")
    for column in grid.columns[1:5]:
        column.justify = "right"

    def add(name: str, item: dict[str, Any]) -> None:
        grid.add_row(
            name,
            str(item["responses"]),
            _fmt(item["score"]),
            _interval(item, metric),
            _fmt(item["average"], 2),
            "n < 30" if item.get("small_sample") else "",
        )

    add("all", result)
    for group in result.get("groups", []):
        ((field, value),) = group["group"].items()
        add(f"{field}={'(none)' if value is None else value}", group)
    return grid


def _funnel_line(funnel: dict[str, Any]) -> str:
    skipped = sum(funnel["skipped"].values())
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(funnel["skipped"].items()))
    rate = funnel["response_rate"]
    return (
        f"funnel: {funnel['triggered']} triggered → {skipped} skipped"
        + (f" ({reasons})" if reasons else "")
        + f", {funnel['pending']} pending, {funnel['cancelled']} cancelled,"
        f" {funnel['failed']} failed → {funnel['sent']} sent ({funnel['reminded']} reminded,"
        f" {funnel['opened']} opened) → {funnel['answered']} answered"
        f" ({funnel['answered_after_reminder']} after a reminder), {funnel['completed']} completed;"
        f" response rate {'—' if rate is None else f'{rate * 100:.1f} %'}"
    )
