"""`surveybot apikey`: keys for /api/v1."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import err, fail, load_settings, run

apikey_app = typer.Typer(help="Manage API keys for /api/v1.", no_args_is_help=True)


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="Who or what the key is for")]) -> None:
    """Create an API key; it is printed once, as the last line."""
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    if not name.strip() or len(name) > 100:
        fail("NAME must be 1 to 100 characters")
    settings = load_settings()

    async def main() -> str:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                _, plain = await uow.api_keys.create(name.strip())
                await uow.commit()
                return plain

    plain = run(main())
    err.print(f"API key {name!r} created; store it now, it is not shown again:", highlight=False)
    print(plain)
