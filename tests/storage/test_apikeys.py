"""The API key repository: scopes, listing, revoking by name, last-used at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runtime.services import Services
from storage.repositories.apikeys import allows, check_name, check_scopes
from storage.uow import UnitOfWork
from tests.conftest import FakeClock


def test_scopes_are_checked_and_put_in_order() -> None:
    assert check_scopes([]) == ("admin",)
    assert check_scopes(["read", "triggers", "read"]) == ("triggers", "read")
    with pytest.raises(ValueError, match="unknown scope 'write'"):
        check_scopes(["triggers", "write"])


def test_names_follow_the_rule() -> None:
    assert check_name("  Zendesk help desk  ") == "Zendesk help desk"
    for bad in ("", "   ", "a/b", "x\x00", "[bold]", "n" * 101):
        with pytest.raises(ValueError, match="1 to 100 letters"):
            check_name(bad)


async def test_keys_carry_their_scopes(services: Services) -> None:
    async with UnitOfWork(services.sessions) as uow:
        admin, _ = await uow.api_keys.create("ops")
        helpdesk, plain = await uow.api_keys.create("helpdesk", ["triggers"])
        await uow.commit()
    assert admin.scopes == "admin" and helpdesk.scopes == "triggers"
    async with UnitOfWork(services.read_sessions) as uow:
        found = await uow.api_keys.verify(plain)
    assert found is not None and found.name == "helpdesk"
    assert allows(found, "triggers") and not allows(found, "read") and not allows(found, "admin")
    assert all(allows(admin, scope) for scope in ("triggers", "read", "admin"))


async def test_revoke_by_name_revokes_every_active_key_of_that_name(
    services: Services, clock: FakeClock
) -> None:
    async with UnitOfWork(services.sessions) as uow:
        _, first = await uow.api_keys.create("helpdesk", now=clock())
        _, second = await uow.api_keys.create("helpdesk", now=clock.advance(seconds=1))
        _, other = await uow.api_keys.create("ops", now=clock.advance(seconds=1))
        await uow.commit()
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.api_keys.revoke("helpdesk", clock()) == 2
        assert await uow.api_keys.revoke("nobody", clock()) == 0
        await uow.commit()
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.api_keys.revoke("helpdesk", clock()) == 0  # already revoked
        assert await uow.api_keys.verify(first) is None
        assert await uow.api_keys.verify(second) is None
        assert await uow.api_keys.verify(other) is not None
        rows = await uow.api_keys.list_all()
    assert [(row.name, row.revoked_at) for row in rows] == [
        ("helpdesk", clock()),
        ("helpdesk", clock()),
        ("ops", None),
    ]


async def test_touch_writes_at_most_once_a_minute(services: Services, clock: FakeClock) -> None:
    async with UnitOfWork(services.sessions) as uow:
        row, _ = await uow.api_keys.create("helpdesk")
        await uow.commit()
    assert row.id is not None
    first = clock()
    moments = [first, first + timedelta(seconds=59), first + timedelta(seconds=60)]
    written = []
    for moment in moments:
        async with UnitOfWork(services.sessions) as uow:
            written.append(await uow.api_keys.touch(row.id, moment))
            await uow.commit()
    assert written == [True, False, True]
    async with UnitOfWork(services.sessions) as uow:
        (stored,) = await uow.api_keys.list_all()
    assert stored.last_used_at == moments[-1]
