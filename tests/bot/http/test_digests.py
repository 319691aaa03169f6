"""/api/v1/digests: digests added, listed and removed with an admin key; bad input refused by
field and nothing stored. Both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey

MAIL = {"smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_tls": "none", "smtp_from": "s@x.test"}
GOOD = {"survey": "support-csat", "every": "weekly", "to": ["lead@example.com"]}


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(make_settings(database_url, **MAIL), clock) as (client, services):
        await add_survey(services, timezone="America/New_York")
        yield client


async def test_add_list_and_remove(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/digests", json=GOOD)
    assert created.status_code == 201, created.text
    digest = created.json()
    # The survey's time zone unless one is given; 08:00 unless a time is given. The clock is
    # Monday 2 November 2026 12:00 UTC, 07:00 in New York: last week's digest goes at 08:00.
    assert (digest["timezone"], digest["at"], digest["every"]) == (
        "America/New_York", "08:00", "weekly"
    )  # fmt: skip
    assert digest["next_send_at"] == "2026-11-02T08:00:00-05:00"
    daily = await api.post(
        "/api/v1/digests", json={**GOOD, "every": "daily", "at": "07:30",
                                 "timezone": "Europe/Helsinki"},
    )  # fmt: skip
    assert daily.json()["next_send_at"] == "2026-11-03T07:30:00+02:00"
    listed = (await api.get("/api/v1/digests")).json()
    assert listed["count"] == 2 and [d["id"] for d in listed["data"]] == [
        digest["id"], daily.json()["id"]
    ]  # fmt: skip
    assert (await api.delete(f"/api/v1/digests/{digest['id']}")).json() == {"id": digest["id"]}
    assert (await api.delete(f"/api/v1/digests/{digest['id']}")).status_code == 404
    assert (await api.get("/api/v1/digests")).json()["count"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"survey": "nope"}, "survey"),
        ({"every": "hourly"}, "every"),
        ({"to": []}, "to"),
        ({"to": ["lead@example.com", "nobody"]}, "to"),
        ({"at": "25:00"}, "at"),
        ({"at": "8am"}, "at"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ],
)
async def test_bad_digests_are_refused_by_field(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    reply = await api.post("/api/v1/digests", json={**GOOD, **change})
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field
    assert (await api.get("/api/v1/digests")).json()["count"] == 0


async def test_digests_need_the_smtp_settings(database_url: str, clock: FakeClock) -> None:
    async with app_client(make_settings(database_url), clock) as (client, services):
        await add_survey(services)
        reply = await client.post("/api/v1/digests", json=GOOD)
        assert reply.status_code == 422 and reply.json()["field"] == "to"
        assert (await client.post("/api/v1/digests/1/send")).status_code == 409


async def test_unknown_and_impossible_ids_are_refused(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/v1/digests/7/send")).status_code == 404
    assert (await api.delete("/api/v1/digests/0")).status_code == 422
    assert (await api.post("/api/v1/digests/99999999999/send")).status_code == 422
