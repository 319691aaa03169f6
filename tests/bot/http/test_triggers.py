"""The triggers API: links, idempotent replays, invalid triggers named by field, unknown surveys."""

from __future__ import annotations

import httpx
import pytest

from bot.runtime.services import Services
from storage.uow import UnitOfWork

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did {agent} do?"}


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
