"""Fixtures of the bot tests: the app on each backend with a client that carries an API key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import FakeClock, app_client, make_settings


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(make_settings(database_url), clock) as (client, services):
        client.app_services = services  # type: ignore[attr-defined]
        yield client
