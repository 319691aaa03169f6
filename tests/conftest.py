"""Shared fixtures: a controllable clock, fresh databases (SQLite file, PostgreSQL server), services."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
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
from storage.database import create_engine
from storage.migrate import upgrade
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


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


# A database migrated once per test session and copied for each test that wants a migrated
# one: running the migrations costs about 0.2 s a database, copying a template a fraction.
_pg_template: str | None = None


async def _migrated_template() -> str:
    global _pg_template
    if _pg_template is None:
        name = f"surveybot_tmpl_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        engine = create_engine(_pg_url(name))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # no connection may stay open on a template
        _pg_template = name
    return _pg_template


async def create_pg_database(*, migrated: bool = False) -> tuple[str, str]:
    """A new database on the PostgreSQL server, empty or with the schema (copied from a template
    migrated once); returns (name, SQLAlchemy URL)."""
    if not await _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_DSN} is unreachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}")
    template = f' TEMPLATE "{await _migrated_template()}"' if migrated else ""
    name = f"surveybot_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await conn.close()
    return name, _pg_url(name)


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    yield
    if _pg_template is not None:
        asyncio.run(drop_pg_database(_pg_template))


_sqlite_template: Path | None = None


def _migrated_sqlite(directory: Path) -> Path:
    """An SQLite file with the schema, made once per session (copied for each test)."""
    global _sqlite_template
    if _sqlite_template is None:
        path = directory / "template.db"

        async def migrate() -> None:
            engine = create_engine(f"sqlite+aiosqlite:///{path}")
            try:
                await upgrade(engine)
            finally:
                # Closing the last connection checkpoints the write-ahead log into the file.
                await engine.dispose()

        asyncio.run(migrate())  # in a worker thread (see _sqlite_copy): no loop runs there
        assert not path.with_name(path.name + "-wal").exists(), "the template kept its WAL"
        _sqlite_template = path
    return _sqlite_template


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A fresh database on each backend: an SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        yield await _sqlite_copy(tmp_path_factory, tmp_path)
        return
    name, url = await create_pg_database(migrated=True)
    try:
        yield url
    finally:
        await drop_pg_database(name)


@pytest.fixture
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    return await _sqlite_copy(tmp_path_factory, tmp_path)


async def _sqlite_copy(factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    """A fresh SQLite file with the schema: a copy of the session's migrated template."""
    template = await asyncio.to_thread(_migrated_sqlite, factory.getbasetemp())
    target = tmp_path / "surveybot.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


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
