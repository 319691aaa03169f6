"""The async engine and session factory: aiosqlite by default, asyncpg for PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./surveybot.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "surveybot_read_only"


def normalize_url(url: str) -> str:
    """Map plain `sqlite://` and `postgresql://` URLs to their async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> AsyncEngine:
    """Create the engine: errors never show bound parameters; SQLite transactions lock up front.

    SQLite allows one writer; a deferred transaction that reads and then writes can fail with
    "database is locked" no matter the busy timeout, so transactions begin IMMEDIATE.
    """
    url = normalize_url(url)
    # Bound parameters are phone numbers, emails and message texts: never in an error's text.
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() == "sqlite":
        # aiosqlite logs every call with its arguments at DEBUG: not even there.
        chatty = logging.getLogger("aiosqlite")
        chatty.setLevel(max(logging.INFO, chatty.level))
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers in WAL mode see a snapshot without the write lock, so they begin DEFERRED.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Sessions(async_sessionmaker[AsyncSession]):
    """A session factory; on SQLite it also queues this process's write transactions.

    SQLite has one writer. Left to itself, a transaction waiting for the lock sleeps in the
    busy handler with growing naps, which turns a queue of writers into second-long stalls;
    taking an asyncio lock first makes them wait in order instead (other processes still
    meet the busy timeout).
    """

    write_lock: asyncio.Lock | None = None


def session_factory(engine: AsyncEngine) -> Sessions:
    """Sessions that keep loaded objects usable after commit (no lazy loads in async code)."""
    sessions = Sessions(engine, expire_on_commit=False, autoflush=False)
    if is_sqlite(engine):
        sessions.write_lock = asyncio.Lock()
    return sessions


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads; on SQLite they never wait for the write lock."""
    return async_sessionmaker(
        engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, autoflush=False
    )
