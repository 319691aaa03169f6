"""Shared fixtures: a controllable clock, fresh databases (SQLite file, PostgreSQL server), services."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from bot.http.app import create_app
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from bot.startup.bootstrap import build_services
from channels.base import Channel
from storage.uow import UnitOfWork

# Start-up runs the migrations; on a loaded two-core machine that can take longer than
# asgi-lifespan's default of 5 s, which is not what the tests are about.
LIFESPAN_TIMEOUT = 60

PG_ADMIN_DSN = os.environ.get("SURVEYBOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def _pg_available() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def create_pg_database() -> tuple[str, str]:
    """A new, empty database on the PostgreSQL server; returns (name, SQLAlchemy URL)."""
    if not await _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_DSN} is unreachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}")
    name = f"surveybot_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each backend: an SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'surveybot.db'}"
        return
    name, url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'surveybot.db'}"


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "public_url": "http://chat.example.test",
        "secret_key": "test-secret-key-0123456789",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def services(database_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    """Services on a fresh database of each backend, with the fake clock, no background loop."""
    built = await build_services(make_settings(database_url), clock=clock)
    try:
        yield built
    finally:
        await built.close()


async def services_with(
    url: str, clock: FakeClock, channels: dict[str, Channel] | None = None, **settings: object
) -> Services:
    return await build_services(make_settings(url, **settings), clock=clock, channels=channels)


@asynccontextmanager
async def app_client(
    settings: Settings,
    clock: FakeClock,
    *,
    base_url: str = "http://test",
    channels: dict[str, Channel] | None = None,
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    """The real app (lifespan run, no background loop) and a client carrying a fresh API key."""
    app = create_app(settings, clock=clock, channels=channels, run_background=False)
    async with LifespanManager(app, startup_timeout=LIFESPAN_TIMEOUT) as manager:
        services: Services = app.state.services
        async with UnitOfWork(services.sessions) as uow:
            _, key = await uow.api_keys.create("tests")
            await uow.commit()
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers={"Authorization": f"Bearer {key}"}
        ) as client:
            yield client, services
