"""The API key every /api/v1 route depends on: 401 without a valid one, 429 after many wrong ones."""

from __future__ import annotations

import httpx

from tests.conftest import FakeClock

WRONG = {"Authorization": "Bearer sb_wrong"}


async def test_requests_without_a_valid_key_get_401(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sb_wrong"}):
        reply = await api.get("/api/v1/surveys", headers=headers)
        assert reply.status_code == 401
        assert "API key" in reply.json()["detail"]
        assert reply.headers["WWW-Authenticate"] == "Bearer"


async def test_repeated_wrong_keys_from_one_address_get_429_until_the_minute_passes(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    statuses = []
    for _ in range(10):
        statuses.append((await api.get("/api/v1/surveys", headers=WRONG)).status_code)
        clock.advance(seconds=2)
    assert statuses == [401] * 10
    held = await api.post("/api/v1/triggers", json={}, headers=WRONG)
    assert held.status_code == 429
    assert held.headers["Retry-After"] == "40"  # the window opened 20 s ago
    assert held.json()["detail"].startswith("too many wrong API keys from this address")

    # A valid key is never slowed, even from the held-back address.
    assert (await api.get("/api/v1/surveys")).status_code == 200

    clock.advance(seconds=39.5)
    last = await api.get("/api/v1/surveys", headers=WRONG)
    assert last.status_code == 429 and last.headers["Retry-After"] == "1"
    clock.advance(seconds=0.5)
    assert (await api.get("/api/v1/surveys", headers=WRONG)).status_code == 401


async def test_missing_keys_and_successes_are_not_counted(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    for _ in range(30):
        assert (await api.get("/api/v1/surveys")).status_code == 200
        assert (await api.get("/api/v1/surveys", headers={"Authorization": ""})).status_code == 401
    for _ in range(9):
        assert (await api.get("/api/v1/surveys", headers=WRONG)).status_code == 401
    assert (await api.get("/api/v1/surveys", headers=WRONG)).status_code == 401  # the tenth
    assert (await api.get("/api/v1/surveys", headers=WRONG)).status_code == 429
