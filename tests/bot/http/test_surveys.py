"""The surveys API: create, update and list, and invalid surveys named by field."""

from __future__ import annotations

import httpx

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did {agent} do?"}


async def test_create_update_and_list_surveys(api: httpx.AsyncClient) -> None:
    created = await api.post("/api/v1/surveys", json=SURVEY)
    assert created.status_code == 201
    assert created.json()["definition"]["scale"] == [1, 5]
    updated = await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 7})
    assert updated.status_code == 200
    listing = (await api.get("/api/v1/surveys")).json()
    assert listing["count"] == 1 and listing["data"][0]["definition"]["throttle_days"] == 7


async def test_invalid_survey_names_the_field(api: httpx.AsyncClient) -> None:
    reply = await api.post("/api/v1/surveys", json={"key": "x", "metric": "stars"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == "metric"
    reply = await api.post("/api/v1/surveys", json={"key": "x", "metric": "csat", "scale": [1, 10]})
    assert reply.status_code == 422 and "positive_from" in str(reply.json())
    assert (await api.get("/api/v1/surveys")).json()["count"] == 0
