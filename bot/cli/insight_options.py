"""The options every insight command shares (period and filters), read into one Filters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.common import fail, load_settings, run

if TYPE_CHECKING:
    from bot.insight.filters import Filters
    from storage.models import SurveyRow
    from storage.uow import UnitOfWork

T = TypeVar("T")

FromOption = Annotated[
    str | None, typer.Option("--from", metavar="DATE", help="First day (YYYY-MM-DD) or ISO time")
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE", help="Last day, included (YYYY-MM-DD) or ISO time"),
]
ChannelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--channel", metavar="CHANNEL", help="Only this channel (repeatable: any of them)"
    ),
]
ReasonOption = Annotated[
    list[str] | None,
    typer.Option("--reason", metavar="REASON", help="Only this picked reason (repeatable)"),
]
BandOption = Annotated[
    str | None,
    typer.Option(
        "--band", metavar="BAND", help="promoter, passive, detractor, positive, neutral or negative"
    ),
]
PropertyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--property",
        metavar="NAME=VALUE",
        help="NAME=VALUE: only responses with this property (repeatable)",
    ),
]
SearchOption = Annotated[
    str | None, typer.Option("--search", metavar="TEXT", help="Text in the comment")
]


def cli_filters(
    from_: str | None,
    to: str | None,
    channel: list[str] | None,
    reason: list[str] | None,
    band: str | None,
    prop: list[str] | None,
    search: str | None,
) -> Filters:
    """The filters the shared options name; exits 1 with a sentence when one is wrong."""
    from bot.errors import ServiceError
    from bot.insight.filters import from_options
    from bot.insight.periods import PeriodError, parse_period

    try:
        since, until = parse_period(from_, to, names=("--from", "--to"))
        return from_options(
            since=since,
            until=until,
            channels=channel or (),
            reasons=reason or (),
            band=band,
            properties=prop or (),
            text=search,
        )
    except PeriodError as exc:
        fail(str(exc))
    except ServiceError as exc:
        fail(option_message(exc))


def option_message(exc: Any) -> str:
    """A service refusal in the CLI's words: `q` is --search, `property.x` is --property."""
    names = {"q": "--search", "group_by": "--group-by", "compare": "--compare"}
    field = str(exc.field or "")
    option = names.get(field) or ("--property" if field.startswith("property") else f"--{field}")
    message = str(exc.message)
    return message if message.startswith(option) else f"{option}: {message}"


SurveyOption = Annotated[str, typer.Option("--survey", metavar="KEY", help="Survey key")]


def on_survey(key: str, work: Callable[[UnitOfWork, SurveyRow], Awaitable[T]]) -> T:
    """Open the database, find survey `key` and run `work` on it in one unit of work; an
    unknown survey, or a refusal of the work, exits 1 with one sentence naming the option."""
    from bot.errors import ServiceError
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def main() -> T:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(key)
                if row is None:
                    fail(f"survey {key!r} does not exist")
                try:
                    return await work(uow, row)
                except ServiceError as exc:
                    fail(option_message(exc))

    return run(main())
