"""The contacts API: an upsert merges what is given."""

from __future__ import annotations

import httpx


async def test_contact_upsert(api: httpx.AsyncClient) -> None:
    first = await api.post(
        "/api/v1/contacts", json={"external_id": "c9", "phone": "+358 40 123 4567"}
    )
    assert first.status_code == 200 and first.json()["phone"] == "+358401234567"
    second = await api.post("/api/v1/contacts", json={"external_id": "c9", "name": "Aino"})
    assert second.json()["phone"] == "+358401234567" and second.json()["name"] == "Aino"
