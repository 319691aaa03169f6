"""`surveybot report`: a survey's score over a period, overall and by group, and its funnel."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.common import fail, load_settings, out, run


def report(
    survey: Annotated[str, typer.Option("--survey", help="Survey key")],
    from_: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD) or ISO time")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD) or ISO time")
    ] = None,
    group_by: Annotated[
        str | None, typer.Option("--group-by", help="channel, month, week, or a property name")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report object as JSON")
    ] = False,
) -> None:
    """Score a survey over a period, overall and by group, with margins of error."""
    from bot.reports.scores import PeriodError, build_report, parse_bound
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    try:
        since = parse_bound(from_, end=False, name="--from")
        until = parse_bound(to, end=True, name="--to")
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
                except ValueError as exc:
                    fail(str(exc))

    result = run(main())
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(_report_table(result))
    out.print(_funnel_line(result["funnel"]), highlight=False)


def _fmt(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _report_table(result: dict[str, Any]) -> Table:
    metric = result["metric"]
    label = {"nps": "NPS", "csat": "CSAT %", "ces": "CES % agree"}[metric]
    table = Table(title=f"{result['survey']} ({metric.upper()})")
    for column in ("group", "responses", label, "± margin", "95% interval", "average", "note"):
        table.add_column(column, justify="left" if column in ("group", "note") else "right")

    def add(name: str, item: dict[str, Any]) -> None:
        interval = item.get("interval")
        table.add_row(
            name,
            str(item["responses"]),
            _fmt(item["score"]),
            _fmt(item["margin_of_error"]),
            f"{interval[0]:.1f} – {interval[1]:.1f}" if interval else "—",
            _fmt(item["average"], 2),
            "n < 30" if item.get("small_sample") else "",
        )

    add("all", result)
    for group in result.get("groups", []):
        ((field, value),) = group["group"].items()
        add(f"{field}={value}", group)
    return table


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
