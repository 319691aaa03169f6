"""The HTTP API through the ASGI app: auth, surveys, triggers, responses, scores, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did {agent} do?"}


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(make_settings(database_url), clock) as (client, services):
        client.app_services = services  # type: ignore[attr-defined]
        yield client


async def test_requests_without_a_valid_key_get_401(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sb_wrong"}):
        reply = await api.get("/api/v1/surveys", headers=headers)
        assert reply.status_code == 401
        assert "API key" in reply.json()["detail"]


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


async def test_trigger_returns_link_and_replay_is_idempotent(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    body = {
        "survey": "support-csat",
        "contact": {"external_id": "c-1", "email": "ana@example.com", "locale": "fi-FI"},
        "channel": "web",
        "properties": {"agent": "Ana"},
        "idempotency_key": "ticket-1",
    }
    first = await api.post("/api/v1/triggers", json=body)
    assert first.status_code == 202
    data = first.json()
    assert data["status"] == "scheduled" and data["link"].startswith("http://chat.example.test/s/")
    again = (await api.post("/api/v1/triggers", json=body)).json()
    assert again["invitation_id"] == data["invitation_id"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"contact": {"external_id": "c", "phone": "12"}}, "phone"),
        ({"contact": {"external_id": "c", "email": "not-an-email"}}, "email"),
        ({"contact": {"external_id": "c", "timezone": "Mars/Base"}}, "timezone"),
        ({"channel": "pigeon"}, "channel"),
        ({"delay_seconds": -5}, "delay_seconds"),
        ({"contact": {}}, "external_id"),
    ],
)
async def test_invalid_trigger_names_the_field(
    api: httpx.AsyncClient, patch: dict[str, object], field: str
) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    body = {"survey": "support-csat", "contact": {"external_id": "c"}, "channel": "web", **patch}
    reply = await api.post("/api/v1/triggers", json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == field
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {}


async def test_unknown_survey_is_404(api: httpx.AsyncClient) -> None:
    reply = await api.post(
        "/api/v1/triggers", json={"survey": "nope", "contact": {"external_id": "c"}}
    )
    assert reply.status_code == 404 and reply.json()["field"] == "survey"
    assert (await api.get("/api/v1/surveys/nope/scores")).status_code == 404


async def test_sms_trigger_without_the_channel_configured_is_422(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    reply = await api.post(
        "/api/v1/triggers",
        json={
            "survey": "support-csat",
            "contact": {"external_id": "c", "phone": "+358401234567"},
            "channel": "sms",
        },
    )
    assert reply.status_code == 422 and reply.json()["field"] == "channel"


async def test_contact_upsert(api: httpx.AsyncClient) -> None:
    first = await api.post(
        "/api/v1/contacts", json={"external_id": "c9", "phone": "+358 40 123 4567"}
    )
    assert first.status_code == 200 and first.json()["phone"] == "+358401234567"
    second = await api.post("/api/v1/contacts", json={"external_id": "c9", "name": "Aino"})
    assert second.json()["phone"] == "+358401234567" and second.json()["name"] == "Aino"


async def test_web_chat_answer_shows_in_responses_and_scores(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    trig = (
        await api.post(
            "/api/v1/triggers",
            json={
                "survey": "support-csat",
                "contact": {"external_id": "c-5"},
                "properties": {"agent": "Ana"},
            },
        )
    ).json()
    token = trig["link"].rsplit("/", 1)[1]
    state = (await api.get(f"/s/{token}/state")).json()
    assert state["status"] == "active" and state["choices_kind"] == "scale"
    assert state["messages"][0]["text"].startswith("How did Ana do?")
    state = (
        await api.post(f"/s/{token}/messages", json={"text": "4", "client_message_id": "a"})
    ).json()
    assert state["choices_kind"] == "skip"
    state = (
        await api.post(f"/s/{token}/messages", json={"text": "Quick fix", "client_message_id": "b"})
    ).json()
    assert state["status"] == "done" and state["choices"] == []
    replay = await api.post(
        f"/s/{token}/messages", json={"text": "Quick fix", "client_message_id": "b"}
    )
    assert len(replay.json()["messages"]) == len(state["messages"])
    responses = (await api.get("/api/v1/responses", params={"survey": "support-csat"})).json()
    assert responses["count"] == 1
    empty_page = (
        await api.get("/api/v1/responses", params={"survey": "support-csat", "offset": 1})
    ).json()
    assert (empty_page["data"], empty_page["count"]) == ([], 1)
    row = responses["data"][0]
    assert (row["score"], row["comment"], row["contact"], row["properties"]) == (
        4,
        "Quick fix",
        "c-5",
        {"agent": "Ana"},
    )
    scores = (
        await api.get("/api/v1/surveys/support-csat/scores", params={"group_by": "agent"})
    ).json()
    assert (scores["responses"], scores["score"], scores["positive"], scores["small_sample"]) == (
        1,
        100.0,
        1,
        True,
    )
    assert scores["groups"][0]["group"] == {"agent": "Ana"}
    assert "promoters" not in scores and scores["period"] == {"from": None, "to": None}
    assert scores["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    funnel = scores["funnel"]  # the page was opened in a browser (its script read the state)
    assert (funnel["triggered"], funnel["sent"], funnel["opened"], funnel["answered"]) == (
        1,
        1,
        1,
        1,
    )
    assert (funnel["completed"], funnel["response_rate"]) == (1, 1.0)


async def test_tampered_chat_link_is_refused(api: httpx.AsyncClient) -> None:
    reply = await api.get("/s/abc.def.ghi/state")
    assert reply.status_code == 404 and reply.json()["ui"]["link_invalid"]
    reply = await api.post("/s/abc.def.ghi/messages", json={"text": "5", "client_message_id": "x"})
    assert reply.status_code == 404


async def test_openapi_documents_the_public_surface(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/surveys",
        "/api/v1/contacts",
        "/api/v1/triggers",
        "/api/v1/responses",
        "/api/v1/surveys/{key}/scores",
    ):
        assert path in paths
