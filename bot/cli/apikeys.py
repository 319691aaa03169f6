"""`surveybot apikey`: create, list and revoke the keys of /api/v1."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.common import err, fail, load_settings, out, run

if TYPE_CHECKING:
    from storage.models import ApiKey
    from storage.uow import UnitOfWork

T = TypeVar("T")

apikey_app = typer.Typer(help="Manage API keys for /api/v1.", no_args_is_help=True)


def _with_uow(work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Open the database and run `work` in one unit of work (it commits if it wants to)."""
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def main() -> T:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                return await work(uow)

    return run(main())


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="triggers, read or admin; repeat for several [default: admin]",
        ),
    ] = None,
) -> None:
    """Create an API key; it is printed once, as the last line."""
    from storage.repositories.apikeys import check_name, check_scopes

    try:
        name = check_name(name)
        scopes = check_scopes(scope or ())
    except ValueError as exc:
        fail(str(exc))

    async def create(uow: UnitOfWork) -> str:
        _, plain = await uow.api_keys.create(name, scopes)
        await uow.commit()
        return plain

    plain = _with_uow(create)
    err.print(
        f"API key {name!r} ({' '.join(scopes)}) created; store it now, it is not shown again:",
        markup=False,
        highlight=False,
    )
    print(plain)


@apikey_app.command("list")
def apikey_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """List the keys: name, prefix, scopes, created, last used (within a minute), revoked."""

    async def load(uow: UnitOfWork) -> list[ApiKey]:
        return await uow.api_keys.list_all()

    rows = _with_uow(load)
    if as_json:
        print(json.dumps([_as_dict(row) for row in rows], indent=2))
        return
    if not rows:
        out.print("no API keys yet: create one with `surveybot apikey create NAME`", markup=False)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("name", "prefix", "scopes", "created", "last used", "revoked")
    for row in rows:
        table.add_row(
            Text(row.name),
            row.prefix,
            row.scopes,
            _when(row.created_at),
            _when(row.last_used_at),
            _when(row.revoked_at),
        )
    out.print(table)
    out.print("times in UTC", style="dim", markup=False)


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The name of the key(s) to revoke")],
) -> None:
    """Revoke the active keys with this name (all of them, if several share it)."""
    from storage.types import utcnow

    async def revoke(uow: UnitOfWork) -> int:
        count = await uow.api_keys.revoke(name.strip(), utcnow())
        await uow.commit()
        return count

    count = _with_uow(revoke)
    if count == 0:
        fail(f"no active API key is named {name.strip()!r}")
    keys, them = ("API key", "it") if count == 1 else (f"{count} API keys", "them")
    out.print(
        f"revoked {keys} named {name.strip()!r}; requests with {them} now get 401",
        markup=False,
        highlight=False,
    )


def _as_dict(row: ApiKey) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes.split(),
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
