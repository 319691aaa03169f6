"""`surveybot surveys`: load survey definitions from YAML; archive and un-archive them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import fail, load_settings, out, run

if TYPE_CHECKING:
    from storage.models import SurveyRow

surveys_app = typer.Typer(
    help="Create, update and archive survey definitions.", no_args_is_help=True
)


@surveys_app.command("load")
def surveys_load(
    file: Annotated[Path, typer.Argument(help="A YAML file with a `surveys:` list")],
) -> None:
    """Create or update the surveys in FILE (all or none)."""
    from bot.runtime.database import database
    from bot.runtime.survey_files import SurveyFileError, load_surveys, read_survey_file
    from bot.wiring import registry

    settings = load_settings()
    try:
        surveys = read_survey_file(file)
    except SurveyFileError as exc:
        fail(str(exc))

    async def main() -> list[tuple[str, bool]]:
        async with database(settings) as sessions:
            return await load_surveys(sessions, surveys, channels=registry.infos(), source=file)

    try:
        loaded = run(main())
    except SurveyFileError as exc:  # a channel it does not have, a scale its answers forbid
        fail(str(exc))
    for key, created in loaded:
        out.print(f"{'created' if created else 'updated'} survey {key}", highlight=False)


def _set_archived(key: str, archive: bool) -> tuple[SurveyRow, bool]:
    """Archive or un-archive survey KEY; the row and whether it changed (exit 1 if unknown)."""
    from bot.runtime.database import database
    from storage.types import utcnow
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def main() -> tuple[SurveyRow, bool] | None:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                changed = await uow.surveys.set_archived(key, utcnow() if archive else None)
                await uow.commit()
                return changed

    changed = run(main())
    if changed is None:
        fail(f"survey {key!r} does not exist")
    return changed


@surveys_app.command("archive")
def surveys_archive(key: Annotated[str, typer.Argument(help="The survey's key")]) -> None:
    """Archive a survey: no new triggers or campaign runs; its answers stay in reports."""
    row, changed = _set_archived(key, archive=True)
    if not changed and row.archived_at is not None:
        out.print(f"survey {key} was already archived on {row.archived_at:%Y-%m-%d %H:%M} UTC")
        return
    out.print(
        f"archived survey {key}: it takes no new triggers and its campaigns skip their runs;"
        f" its invitations and responses stay (undo: surveybot surveys unarchive {key})"
    )


@surveys_app.command("unarchive")
def surveys_unarchive(key: Annotated[str, typer.Argument(help="The survey's key")]) -> None:
    """Take a survey out of the archive: it takes triggers again."""
    _, changed = _set_archived(key, archive=False)
    out.print(f"survey {key} takes triggers again" if changed else f"survey {key} is not archived")
