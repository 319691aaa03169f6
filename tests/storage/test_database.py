"""The engine keeps bound parameters (phone numbers, message texts) out of every error's text."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.database import create_engine


async def test_errors_do_not_show_bound_parameters(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE t (phone VARCHAR(20) NOT NULL UNIQUE)"))
            insert = text("INSERT INTO t (phone) VALUES (:phone)")
            await connection.execute(insert, {"phone": "+14155550123"})
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(insert, {"phone": "+14155550123"})
    finally:
        await engine.dispose()
    assert "4155550123" not in str(caught.value)
    assert "INSERT INTO t" in str(caught.value)  # the statement, without its values
