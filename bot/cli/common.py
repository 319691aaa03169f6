"""What every CLI command shares: consoles, settings loading, errors as sentences, progress bars."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperOption

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from bot.runtime.settings import Settings

T = TypeVar("T")

# Names, properties and comments are printed through these: never read as markup or emoji codes.
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)

# What a setting that takes JSON looks like, for the sentence refusing one that does not parse.
JSON_EXAMPLES = {"webhook_secrets": '{"crm": "a secret of 16 or more characters"}'}


def fail(message: str, code: int = 1) -> NoReturn:
    # soft_wrap: one line however narrow the terminal, so a log or a script sees it whole.
    err.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 response`, `2 responses` (`many` when the plural is not the singular plus s)."""
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def table(*columns: str, title: str | None = None) -> Table:
    """A table whose cells wrap (long words fold) instead of being cut at the terminal's width."""
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid


def load_settings(**overrides: Any) -> Settings:
    """The settings, or exit 1 with one line naming each bad setting and what to do."""
    # Imported when a command runs: settings pull in pydantic and the database layer, which
    # `--help` does not need.
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from bot.runtime.settings import Settings

    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        fail(f"invalid settings: {_problems(exc)}")
    except SettingsError as exc:  # a setting that takes JSON did not parse
        fail(f"invalid settings: {_unparsed(exc)}")
    # The registry loads every channel's wiring: imported when a command runs, so --help is quick.
    from bot.wiring import registry

    try:
        registry.check_settings(settings)
    except ValueError as exc:
        fail(f"invalid settings: {exc}")
    if settings.surveys_file is not None:
        from bot.runtime.survey_files import SurveyFileError, read_survey_file

        try:
            read_survey_file(settings.surveys_file)
        except SurveyFileError as exc:
            # One line: a YAML error points at the spot over several lines.
            fail(f"invalid settings: SURVEYBOT_SURVEYS_FILE: {' '.join(str(exc).split())}")
    return settings


def _problems(exc: ValidationError) -> str:
    sentences = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"]:  # a field's own check; a check across fields names them itself
            name = "_".join(str(part) for part in error["loc"]).upper()
            message = f"SURVEYBOT_{name}: {message}"
        sentences.append(message)
    return "; ".join(sentences)


def _unparsed(exc: SettingsError) -> str:
    found = re.search(r'field "(\w+)"', str(exc))
    if found is None:
        return str(exc)
    field = found.group(1)
    example = JSON_EXAMPLES.get(field)
    return f"SURVEYBOT_{field.upper()} is not valid JSON" + (
        f"; write it as {example}" if example else ""
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; a database that cannot be opened is one line naming the setting."""
    from bot.runtime.database import DatabaseUnavailable

    try:
        return asyncio.run(coro)
    except DatabaseUnavailable as exc:
        fail(str(exc))


def progress_bar() -> Progress:
    """A progress bar on stderr that disappears when done (stdout stays clean for scripts)."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # a log file gets no bar, and no blank line in its place
    )


def _flags_take_no_value() -> None:
    """Help shows a flag as `--json`, not `--json <bool>`: typer gives every option a type."""
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010


_flags_take_no_value()
