"""`surveybot contacts export` and `erase` as a user runs them, on both databases."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from bot.runtime.services import Services
from storage.models import Contact
from storage.uow import UnitOfWork
from tests.bot.cli.cli_env import invoke
from tests.bot.privacy.privacy_env import (
    COMMENT,
    NEEDLES,
    PHONE,
    SURVEY,
    fake_channels,
    found_anywhere,
    seed,
)
from tests.conftest import FakeClock, services_with
from tests.support import fire

SECRET = "test-secret-key-0123456789"  # the key the test services run with, as a service would


async def seeded(database_url: str, clock: FakeClock) -> dict[str, str]:
    services = await services_with(database_url, clock, fake_channels())
    try:
        await seed(services)
    finally:
        await services.close()
    return {"SURVEYBOT_DATABASE_URL": database_url, "SURVEYBOT_SECRET_KEY": SECRET}


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    # In a thread: the command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(invoke, env, *args)


async def test_export_writes_the_document_to_standard_output_or_a_file(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    env = await seeded(database_url, clock)
    code, out, err = await cli(env, "contacts", "export", "erase-me")
    assert code == 0, err
    body = json.loads(out)
    assert body["contact"]["name"] == "Zelda Quixote" and body["contact"]["phone"] == PHONE
    assert body["responses"][0]["comment"] == COMMENT and len(body["invitations"]) == 3

    target = tmp_path / "zelda.json"
    code, out, err = await cli(env, "contacts", "export", "erase-me", "--output", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["contact"]["external_id"] == "erase-me"
    assert f"exported contact 'erase-me' to {target}" in err

    code, out, err = await cli(env, "contacts", "export", "nobody")
    assert code == 1 and out == "" and "contact 'nobody' does not exist" in err
    missing = tmp_path / "no-such-folder" / "x.json"
    code, out, err = await cli(env, "contacts", "export", "erase-me", "-o", str(missing))
    assert code == 1 and "--output: cannot write" in err and not missing.exists()


async def test_erase_asks_for_yes_then_erases_once_and_the_opt_outs_hold(
    database_url: str, clock: FakeClock
) -> None:
    env = await seeded(database_url, clock)
    code, out, err = await cli(env, "contacts", "erase", "erase-me")
    assert code == 1 and out == ""
    assert "add --yes to erase without being asked" in err.replace("\n", "")
    code, out, err = await cli(env, "contacts", "export", "erase-me")
    assert code == 0  # nothing was erased

    code, out, err = await cli(env, "contacts", "erase", "erase-me", "--yes")
    assert code == 0, err
    assert "erased contact 'erase-me':" in out
    assert "suppressed addresses" in out and "responses kept anonymous" in out
    code, out, err = await cli(env, "contacts", "erase", "erase-me", "--yes")
    assert code == 1 and "contact 'erase-me' does not exist" in err

    services: Services = await services_with(database_url, clock, fake_channels())
    try:
        assert await found_anywhere(services, NEEDLES) == []
        async with UnitOfWork(services.read_sessions) as uow:
            ids = (await uow.session.execute(select(col(Contact.external_id)))).scalars().all()
        assert sum(1 for i in ids if i.startswith("erased-")) == 1 and "keep-me" in ids
        # The hashes the command wrote are the ones the service checks with.
        again = await fire(
            services,
            SURVEY,
            contact={"external_id": "new", "phone": PHONE},
            channel="sms",
        )
        assert (again.invitation.status, again.invitation.skip_reason) == ("skipped", "opted_out")
    finally:
        await services.close()
