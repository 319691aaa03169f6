"""`surveybot comments` and `surveybot themes`: what people wrote, and what it is about."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from bot.cli.common import fail, out, table
from bot.cli.insight_options import (
    BandOption,
    ChannelOption,
    FromOption,
    PropertyOption,
    ReasonOption,
    SearchOption,
    SurveyOption,
    ToOption,
    cli_filters,
    on_survey,
    option_message,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the answer as JSON")]


def comments(
    survey: SurveyOption,
    from_: FromOption = None,
    to: ToOption = None,
    channel: ChannelOption = None,
    reason: ReasonOption = None,
    band: BandOption = None,
    prop: PropertyOption = None,
    search: SearchOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List responses newest first, with their comments, themes and context."""
    from bot.insight.comments import list_responses

    filters = cli_filters(from_, to, channel, reason, band, prop, search)
    data, total = on_survey(
        survey,
        lambda uow, row: list_responses(uow, row, filters, limit=limit, offset=offset),
    )
    if as_json:
        print(json.dumps({"data": data, "count": total}, ensure_ascii=False, default=str))
        return
    grid = table("answered", "score", "comment", "themes", "context")
    for item in data:
        context = ", ".join(
            f"{k}={v}" for k, v in item["properties"].items() if isinstance(v, str | int | float)
        )
        flag = " (words disagree)" if item["disagrees"] else ""
        grid.add_row(
            item["answered_at"].strftime("%Y-%m-%d %H:%M"),
            f"{item['score']} {item['band']}{flag}",
            item["comment"] or "",
            ", ".join(item["themes"]),
            f"{item['channel']}; {context}" if context else item["channel"],
        )
    out.print(grid)
    shown = f"{offset + 1}–{offset + len(data)}" if data else "none"
    out.print(f"{shown} of {total} responses, newest first")


def themes(
    survey: SurveyOption,
    from_: FromOption = None,
    to: ToOption = None,
    compare: Annotated[
        str | None,
        typer.Option("--compare", metavar="previous", help="Against the period before"),
    ] = None,
    propose: Annotated[
        bool | None,
        typer.Option(
            "--propose/--no-propose",
            help="Cluster comments into proposed themes (default: when none are named)",
        ),
    ] = None,
    channel: ChannelOption = None,
    reason: ReasonOption = None,
    band: BandOption = None,
    prop: PropertyOption = None,
    search: SearchOption = None,
    as_json: JsonOption = False,
) -> None:
    """Themes of the comments: count per score band, share, pull on the score, change."""
    from bot.errors import ServiceError
    from bot.insight.scores import comparison_period
    from bot.insight.theme_counts import theme_report

    filters = cli_filters(from_, to, channel, reason, band, prop, search)
    try:
        against = comparison_period(compare, None, None, filters, now=datetime.now(UTC))
    except ServiceError as exc:
        fail(option_message(exc))
    result = on_survey(
        survey,
        lambda uow, row: theme_report(uow, row, filters, against=against, proposals=propose),
    )
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _print_themes(result)


def _print_themes(result: dict[str, Any]) -> None:
    bands = result["bands"]
    compared = "comparison" in result
    columns = ["theme", "n", "share", *bands, "pull"] + (["change"] if compared else [])
    grid = table(*columns, title=f"{result['survey']}: themes of {result['comments']} comments")
    for theme in result["themes"]:
        share = theme["share"]
        cells = [
            theme["theme"],
            str(theme["responses"]),
            "—" if share is None else f"{share * 100:.0f} %",
            *(str(theme["by_band"][band]) for band in bands),
            "—" if theme["impact"] is None else f"{theme['impact']:+.1f}",
        ]
        if compared:
            change = theme["change"]
            mark = " *" if change["significant"] else ""
            cells.append(
                "—" if change["difference"] is None else f"{change['difference']:+.1f}{mark}"
            )
        grid.add_row(*cells)
    out.print(grid)
    out.print(
        f"{result['with_a_theme']} of {result['comments']} comments have a theme;"
        f" {result['analysed']} analysed; {result['disagreements']} where score and words"
        " disagree. pull: how much the score would rise (+) or fall without them."
    )
    proposed = result.get("proposed")
    if proposed:
        if not proposed["themes"]:
            out.print(
                f"no themes proposed: {proposed['from_comments']} comments are too few to"
                " cluster (about 25 are needed)"
            )
        for item in proposed["themes"]:
            out.print(
                f"proposed: {item['label']} ({item['responses']} comments): "
                + "; ".join(item["examples"][:2])
            )
