"""`surveybot retention run`: purge transcripts and comments older than the retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import fail, load_settings, out, plural, progress_bar, run

retention_app = typer.Typer(
    help="Purge transcript messages and comments past their age (scores stay).",
    no_args_is_help=True,
)


def _days(value: str | None, setting: int | None) -> int:
    if value is None:
        if setting is None:
            fail(
                "give --days N or set SURVEYBOT_RETENTION_DAYS: without either nothing is"
                " old enough to purge"
            )
        return setting
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 36500:
        fail(f"--days must be a whole number of days from 1 to 36500; got {value!r}")
    return int(text)


@retention_app.command("run")
def run_retention(
    days: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Purge what is older than N days [default: SURVEYBOT_RETENTION_DAYS]",
        ),
    ] = None,
) -> None:
    """Purge, once, the transcript messages and response comments (with their themes) older
    than the retention period. Scores, reasons and times stay."""
    from datetime import UTC, datetime

    from bot.privacy.retention import count_purgeable, cutoff, purge
    from bot.runtime.database import database

    settings = load_settings()
    period = _days(days, settings.retention_days)
    before = cutoff(datetime.now(UTC), period)

    async def main() -> tuple[int, int]:
        async with database(settings) as sessions:
            messages, comments = await count_purgeable(sessions, before)
            with progress_bar() as progress:
                task = progress.add_task("purging", total=messages + comments)
                purged = await purge(sessions, before, progress=lambda n: progress.advance(task, n))
            return purged.messages, purged.comments

    messages, comments = run(main())
    out.print(
        f"purged {plural(messages, 'transcript message')} and {plural(comments, 'comment')}"
        f" older than {plural(period, 'day')} (before {before:%Y-%m-%d %H:%M} UTC)",
        soft_wrap=True,
    )
