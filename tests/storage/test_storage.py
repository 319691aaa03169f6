"""Storage on SQLite and PostgreSQL: migrations, UTC round trips, dedupe, leased claims, keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.runtime.services import Services
from storage.database import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Invitation
from storage.secrets import instance_secret
from storage.uow import UnitOfWork
from tests.support import add_survey

STRUCTURAL = {
    "add_table",
    "remove_table",
    "add_column",
    "remove_column",
    "add_index",
    "remove_index",
}
TABLES = {
    "survey",
    "contact",
    "invitation",
    "message",
    "response",
    "opt_out",
    "api_key",
    "instance_secret",
    "comment_analysis",
    "response_theme",
    "suppression",
    "alert_rule",
    "channel_failure",
    "digest",
    "digest_sent",
    "health_notice",
}


async def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)
        async with engine.connect() as conn:
            version = (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one()
            tables = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        assert version == "0011"
        assert TABLES <= tables
    finally:
        await engine.dispose()


async def test_migrations_build_what_the_models_declare(database_url: str) -> None:
    """Tables, columns and indexes made by Alembic match the SQLModel tables (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage import alerting, models, outbound  # noqa: F401 - registers the tables

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
    finally:
        await engine.dispose()
    # Only structural drift counts: types that render differently per dialect are not compared.
    structural = [d for d in differences if isinstance(d, tuple) and d[0] in STRUCTURAL]
    assert structural == []


async def test_sqlite_runs_with_wal_and_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 10_000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def contact_and_survey(services: Services) -> tuple[int, int]:
    await add_survey(services)
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.upsert("c1", {"phone": "+14155550123"})
        survey = await uow.surveys.get_by_key("support-csat")
        await uow.commit()
    assert contact.id is not None and survey is not None and survey.id is not None
    return contact.id, survey.id


async def test_datetimes_come_back_aware_utc(services: Services) -> None:
    contact_id, survey_id = await contact_and_survey(services)
    helsinki = datetime(2026, 6, 15, 15, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    async with UnitOfWork(services.sessions) as uow:
        inv = await uow.invitations.add(
            Invitation(survey_id=survey_id, contact_id=contact_id, channel="web", send_at=helsinki)
        )
        await uow.commit()
    async with UnitOfWork(services.sessions) as uow:
        loaded = await uow.invitations.get(inv.id)
    assert loaded is not None
    assert loaded.send_at.tzinfo is not None and loaded.send_at.utcoffset() == timedelta(0)
    assert loaded.send_at == helsinki


async def test_naive_datetimes_are_refused(services: Services) -> None:
    contact_id, survey_id = await contact_and_survey(services)
    async with UnitOfWork(services.sessions) as uow:
        with pytest.raises(Exception, match="naive"):
            await uow.invitations.add(
                Invitation(
                    survey_id=survey_id,
                    contact_id=contact_id,
                    channel="web",
                    send_at=datetime(2026, 1, 1),
                )
            )


async def test_inbound_message_is_stored_once(services: Services) -> None:
    now = datetime.now(UTC)
    ids = []
    for _ in range(2):
        async with UnitOfWork(services.sessions) as uow:
            ids.append(
                await uow.messages.add_inbound(
                    channel="sms",
                    address="+14155550123",
                    provider_message_id="SM1",
                    text="9",
                    received_at=now,
                )
            )
            await uow.commit()
    assert ids[0] is not None and ids[1] is None


async def test_concurrent_claims_never_overlap(services: Services) -> None:
    contact_id, survey_id = await contact_and_survey(services)
    now = datetime.now(UTC)
    async with UnitOfWork(services.sessions) as uow:
        for _ in range(60):
            await uow.invitations.add(
                Invitation(survey_id=survey_id, contact_id=contact_id, channel="web", send_at=now)
            )
        await uow.commit()

    async def claim() -> list[str]:
        async with UnitOfWork(services.sessions) as uow:
            claimed = await uow.invitations.claim_due(now, now + timedelta(minutes=1), 25)
            await uow.commit()
            return claimed

    batches = await asyncio.gather(*(claim() for _ in range(4)))
    claimed = [i for batch in batches for i in batch]
    assert len(claimed) == len(set(claimed)) == 60


async def test_api_keys_are_stored_hashed(services: Services) -> None:
    async with UnitOfWork(services.sessions) as uow:
        row, plain = await uow.api_keys.create("helpdesk")
        await uow.commit()
    assert plain not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.api_keys.verify(plain) is not None
        assert await uow.api_keys.verify(plain + "x") is None


async def test_instance_secret_is_created_once(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        values = await asyncio.gather(
            *(instance_secret(sessions, "link-signing") for _ in range(3))
        )
        assert len(set(values)) == 1 and len(values[0]) >= 48
    finally:
        await engine.dispose()
