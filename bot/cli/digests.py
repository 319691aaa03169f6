"""`surveybot digests`: a survey's numbers mailed daily or weekly (add, list, remove, send)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import fail, load_settings, out, plural, run, table

if TYPE_CHECKING:
    from bot.runtime.settings import Settings

digests_app = typer.Typer(
    help="Digests: a survey's score, themes and comments mailed daily or weekly.",
    no_args_is_help=True,
)

OPTIONS = {
    "survey": "SURVEY",
    "every": "--every",
    "to": "--to",
    "at": "--at",
    "timezone": "--timezone",
}


@digests_app.command("add")
def digests_add(
    survey: Annotated[str, typer.Argument(help="The survey's key")],
    every: Annotated[
        str,
        typer.Option(
            "--every",
            metavar="daily|weekly",
            help="daily: the previous day; weekly: the previous ISO week",
        ),
    ],
    to: Annotated[
        list[str], typer.Option("--to", metavar="ADDRESS", help="Mail it here (repeatable)")
    ],
    at: Annotated[
        str, typer.Option("--at", metavar="HH:MM", help="Local time of day to send it")
    ] = "08:00",
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="IANA time zone, e.g. Europe/Helsinki [default: the survey's]",
        ),
    ] = None,
) -> None:
    """Mail a survey's digest every day or week."""
    from bot.digests import management
    from bot.errors import ServiceError
    from bot.runtime.database import database
    from bot.startup.alerting import mail_on
    from storage.uow import UnitOfWork

    request = management.NewDigest(survey=survey, every=every, to=to, at=at, timezone=timezone)

    async def add(settings: Settings) -> dict[str, Any]:
        now = datetime.now(UTC)
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    digest = await management.add(uow, request, now, mail_on=mail_on(settings))
                except ServiceError as exc:
                    fail(f"{OPTIONS.get(exc.field or '', 'digest')}: {exc.message}")
                await uow.commit()
                _, row = await management.get(uow, digest.id or 0)
                return management.digest_dict(digest, row, now)

    shown = run(add(load_settings()))
    out.print(
        f"digest {shown['id']}: {shown['survey']} {shown['every']} at {shown['at']}"
        f" {shown['timezone']} → {', '.join(shown['to'])}; next at {shown['next_send_at']}",
        soft_wrap=True,
    )


@digests_app.command("list")
def digests_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Every digest: survey, how often, when, to whom, and when the next one goes."""
    from bot.digests import management
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def listed(settings: Settings) -> list[dict[str, Any]]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                return await management.listed(uow, datetime.now(UTC))

    digests = run(listed(load_settings()))
    if as_json:
        print(json.dumps(digests, default=str, ensure_ascii=False))
        return
    grid = table("id", "survey", "every", "at", "to", "next")
    for d in digests:
        grid.add_row(
            str(d["id"]),
            d["survey"],
            d["every"],
            f"{d['at']} {d['timezone']}",
            ", ".join(d["to"]),
            d["next_send_at"],
        )
    out.print(grid)


@digests_app.command("remove")
def digests_remove(digest_id: Annotated[int, typer.Argument(help="The digest's id")]) -> None:
    """Stop a digest."""
    from bot.digests import management
    from bot.errors import ServiceError
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def remove(settings: Settings) -> None:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    await management.remove(uow, digest_id, datetime.now(UTC))
                except ServiceError as exc:
                    fail(exc.message)
                await uow.commit()

    run(remove(load_settings()))
    out.print(f"removed digest {digest_id}")


@digests_app.command("send")
def digests_send(digest_id: Annotated[int, typer.Argument(help="The digest's id")]) -> None:
    """Mail the digest of its latest complete period now (the schedule stays as it is)."""
    from bot.digests.job import send_now
    from bot.errors import ServiceError
    from bot.runtime.database import database
    from bot.startup.alerting import mailer_of, sender_name

    settings = load_settings()
    mailer = mailer_of(settings)
    if mailer is None:
        fail("email is not configured: set SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM")

    async def send() -> Any:
        async with database(settings) as sessions:
            try:
                return await send_now(
                    sessions,
                    mailer,
                    digest_id,
                    datetime.now(UTC),
                    base_url=settings.base_url(),
                    sender_name=sender_name(settings),
                )
            except ServiceError as exc:
                fail(exc.message)

    sent = run(send())
    if not sent.delivered:
        fail(f"digest {digest_id} was not sent: the SMTP server took it for no address")
    failed = f"; {plural(sent.failed, 'address', 'addresses')} refused it" if sent.failed else ""
    out.print(
        f"sent digest {digest_id} for {sent.period.describe()} to"
        f" {plural(sent.delivered, 'address', 'addresses')}{failed}",
        soft_wrap=True,
    )
