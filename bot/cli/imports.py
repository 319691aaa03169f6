"""`surveybot import`: historical responses from CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import fail, load_settings, out, plural, progress_bar, run

if TYPE_CHECKING:
    from rich.progress import Progress

    from bot.imports.responses import ImportRow
    from surveys.definitions import Survey

import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)


@import_app.command("responses")
def import_responses(
    file: Annotated[
        Path, typer.Argument(help="CSV: contact, score[, comment, answered_at, channel, …]")
    ],
    survey: Annotated[str, typer.Option("--survey", help="The survey key the responses belong to")],
) -> None:
    """Import responses from CSV: every row valid or nothing imported; other columns become properties."""
    from bot.imports.responses import import_rows
    from bot.runtime.database import database
    from storage.repositories.surveys import to_domain
    from storage.uow import UnitOfWork

    if not file.is_file():
        fail(f"{file} does not exist or is not a file")
    settings = load_settings()

    async def main() -> tuple[int, int]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(survey)
                if row is None:
                    fail(
                        f"survey {survey!r} does not exist (load it with `surveybot surveys load`)"
                    )
                with progress_bar() as progress:
                    rows = _checked_rows(file, to_domain(row), progress)
                    task2 = progress.add_task("importing", total=len(rows))
                    result = await import_rows(
                        uow,
                        row.id or 0,
                        survey,
                        rows,
                        progress=lambda n: progress.advance(task2, n),
                    )
                await uow.commit()
                return result.imported, result.already_present

    imported, present = run(main())
    out.print(
        f"imported {plural(imported, 'response')} into {survey}"
        + (f"; {present} {'was' if present == 1 else 'were'} already there" if present else ""),
        soft_wrap=True,
    )


def _checked_rows(file: Path, survey: Survey, progress: Progress) -> list[ImportRow]:
    """Every row of the file, checked; exits 1 naming the bad rows when there are any."""
    from bot.imports.responses import read_rows

    rows: list[ImportRow] = []
    problems: list[str] = []
    task = progress.add_task("checking rows", total=None)
    try:
        for item in read_rows(file, survey, now=datetime.now(UTC)):
            if isinstance(item, str):
                problems.append(item)
            else:
                rows.append(item)
            progress.advance(task)
    except (UnicodeDecodeError, OSError) as exc:
        fail(f"cannot read {file}: {exc}")
    if problems:
        shown = problems[:20]
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        fail(
            f"nothing imported: {plural(len(problems), 'bad row')}{more}:\n  " + "\n  ".join(shown)
        )
    return rows
