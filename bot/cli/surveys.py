"""`surveybot surveys`: load survey definitions from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, load_settings, out, run

surveys_app = typer.Typer(help="Create and update survey definitions.", no_args_is_help=True)


@surveys_app.command("load")
def surveys_load(
    file: Annotated[Path, typer.Argument(help="A YAML file with a `surveys:` list")],
) -> None:
    """Create or update the surveys in FILE (all or none)."""
    from bot.runtime.database import database
    from bot.runtime.survey_files import SurveyFileError, load_surveys, read_survey_file

    settings = load_settings()
    try:
        surveys = read_survey_file(file)
    except SurveyFileError as exc:
        fail(str(exc))

    async def main() -> list[tuple[str, bool]]:
        async with database(settings) as sessions:
            return await load_surveys(sessions, surveys)

    for key, created in run(main()):
        out.print(f"{'created' if created else 'updated'} survey {key}", highlight=False)
