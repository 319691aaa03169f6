"""The triggers API: links, idempotent replays, invalid triggers named by field, unknown surveys."""

from __future__ import annotations

from typing import Any

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


async def _second_key(api: httpx.AsyncClient, name: str = "other") -> dict[str, str]:
    """The Authorization header of another caller: a second API key."""
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        _, key = await uow.api_keys.create(name)
        await uow.commit()
    return {"Authorization": f"Bearer {key}"}


async def _contact(api: httpx.AsyncClient, external_id: str) -> dict[str, object]:
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id(external_id)
    assert contact is not None
    return {"email": contact.email, "telegram_chat_id": contact.telegram_chat_id}


TICKET = {
    "survey": "support-csat",
    "contact": {"external_id": "victim", "email": "ana@example.com"},
    "channel": "web",
    "properties": {"agent": "Ana"},
    "idempotency_key": "zendesk:ticket:1",
}


async def test_another_api_key_with_the_same_idempotency_key_gets_its_own_invitation(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 0})
    first = (await api.post("/api/v1/triggers", json=TICKET)).json()
    other = await _second_key(api)
    guess = {**TICKET, "contact": {"external_id": "mallory", "email": "m@example.com"}}
    theirs = await api.post("/api/v1/triggers", json=guess, headers=other)
    assert theirs.status_code == 202
    data = theirs.json()
    assert data["invitation_id"] != first["invitation_id"]
    assert data["link"] != first["link"]
    assert await _contact(api, "victim") == {"email": "ana@example.com", "telegram_chat_id": None}
    # Each caller's replay finds its own invitation, not the other's.
    assert _same((await api.post("/api/v1/triggers", json=TICKET)).json()) == _same(first)
    again = await api.post("/api/v1/triggers", json=guess, headers=other)
    assert again.json()["invitation_id"] == data["invitation_id"]


async def test_a_replay_changes_nothing_and_a_different_body_is_409(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 0})
    first = (await api.post("/api/v1/triggers", json=TICKET)).json()
    # The contact changes in between; replaying the trigger must not change it back.
    await api.post("/api/v1/contacts", json={"external_id": "victim", "email": "new@example.com"})
    replay = await api.post("/api/v1/triggers", json=TICKET)
    assert replay.status_code == 202 and _same(replay.json()) == _same(first)
    assert (await _contact(api, "victim"))["email"] == "new@example.com"

    hijack = {"external_id": "victim", "email": "ana@example.com", "telegram_chat_id": 666}
    for changed in (
        {**TICKET, "contact": hijack},
        {**TICKET, "properties": {"agent": "Bo"}},
        {**TICKET, "delay_seconds": 9},
    ):
        refused = await api.post("/api/v1/triggers", json=changed)
        assert refused.status_code == 409, changed
        assert refused.json()["field"] == "idempotency_key"
        assert "idempotency_key 'zendesk:ticket:1'" in refused.json()["detail"]
    assert await _contact(api, "victim") == {"email": "new@example.com", "telegram_chat_id": None}
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {"scheduled": 1}


async def test_one_key_in_two_surveys_makes_two_invitations(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 0})
    await api.post(
        "/api/v1/surveys", json={"key": "onboarding-nps", "metric": "nps", "throttle_days": 0}
    )
    first = (await api.post("/api/v1/triggers", json=TICKET)).json()
    nps = (await api.post("/api/v1/triggers", json={**TICKET, "survey": "onboarding-nps"})).json()
    assert nps["invitation_id"] != first["invitation_id"]


async def test_a_skipped_trigger_has_no_send_at(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 30})
    body = {
        "survey": "support-csat",
        "contact": {"external_id": "c"},
        "channel": "web",
        "properties": {"agent": "Ana"},
    }
    assert (await api.post("/api/v1/triggers", json=body)).json()["send_at"] is not None
    skipped = (await api.post("/api/v1/triggers", json=body)).json()
    assert (skipped["status"], skipped["reason"]) == ("skipped", "throttled")
    assert skipped["send_at"] is None and skipped["link"] is None
    schema = (await api.get("/openapi.json")).json()["components"]["schemas"]["TriggerOut"]
    assert "send_at" not in schema["required"]


def _same(answer: dict[str, Any]) -> dict[str, Any]:
    """A trigger's answer without the link's signing time (a link signed a second later differs)."""
    link = answer.get("link")
    return {**answer, "link": link.split(".", 1)[0] if link else link}
