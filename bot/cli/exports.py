"""`surveybot export responses`: every matching response as CSV, streamed, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, load_settings, plural, progress_bar, run
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
    option_message,
)

export_app = typer.Typer(help="Export data as files.", no_args_is_help=True)


@export_app.command("responses")
def export_responses(
    survey: SurveyOption,
    from_: FromOption = None,
    to: ToOption = None,
    channel: ChannelOption = None,
    reason: ReasonOption = None,
    band: BandOption = None,
    prop: PropertyOption = None,
    search: SearchOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to this file (default: standard output)"
        ),
    ] = None,
) -> None:
    """One CSV row per response: score, band, reason, comment, themes, context, properties."""
    from bot.errors import ServiceError
    from bot.insight.export import csv_chunks
    from bot.insight.scores import selection
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    filters = cli_filters(from_, to, channel, reason, band, prop, search)
    settings = load_settings()

    async def main() -> int:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(survey)
                if row is None:
                    fail(f"survey {survey!r} does not exist")
                try:
                    total = await uow.answers.count(selection(row, filters))
                except ServiceError as exc:
                    fail(option_message(exc))
            target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
            written = 0
            try:
                with progress_bar() as progress:
                    task = progress.add_task("exporting", total=total)

                    def advance(count: int) -> None:
                        nonlocal written
                        written += count
                        progress.advance(task, count)

                    async for chunk in csv_chunks(sessions, row, filters, progress=advance):
                        target.write(chunk)
            finally:
                if output:
                    target.close()
            return written

    try:
        written = run(main())
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror}")
    if output:
        print(f"exported {plural(written, 'response')} to {output}", file=sys.stderr)
