"""The API key every /api/v1 route depends on: requests without a valid one get 401."""

from __future__ import annotations

import httpx


async def test_requests_without_a_valid_key_get_401(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sb_wrong"}):
        reply = await api.get("/api/v1/surveys", headers=headers)
        assert reply.status_code == 401
        assert "API key" in reply.json()["detail"]
