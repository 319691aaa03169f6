"""Fallback orders over HTTP: a survey's `channels`, a trigger's own, refusals naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.invitations.decisions import listed
from bot.runtime.services import Services
from bot.wiring import registry
from channels.web import WebChannel
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings

SURVEY = {"key": "support-csat", "metric": "csat", "quiet_hours": {}}
PERSON = {"external_id": "c-1", "telegram_chat_id": "5150", "phone": "+14155550123"}


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with Telegram and SMS on (stand-ins that accept each send); email is off."""
    channels = {name: WebChannel() for name in ("telegram", "sms")}
    async with app_client(make_settings(database_url), clock, channels=channels) as (
        client,
        services,
    ):
        client.app_services = services  # type: ignore[attr-defined]
        yield client


def trigger(**body: Any) -> dict[str, Any]:
    return {"survey": "support-csat", "contact": PERSON, **body}


async def test_a_survey_order_is_saved_and_read_back(api: httpx.AsyncClient) -> None:
    survey = {**SURVEY, "channels": ["sms", "telegram"], "reminders": {"channel": "next"}}
    assert (await api.post("/api/v1/surveys", json=survey)).status_code in (200, 201)
    shown = (await api.get("/api/v1/surveys/support-csat")).json()
    definition = shown.get("definition", shown)
    assert definition["channels"] == ["sms", "telegram"]
    assert definition["reminders"] == {"count": 1, "channel": "next"}
    made = await api.post("/api/v1/triggers", json=trigger())
    assert made.status_code == 202, made.text
    assert (made.json()["channel"], made.json()["link"]) == ("sms", None)
    detail = (await api.get(f"/api/v1/invitations/{made.json()['invitation_id']}")).json()
    assert (detail["channel"], detail["channels"], detail["failures"]) == (
        "sms",
        ["sms", "telegram"],
        [],
    )


@pytest.mark.parametrize(
    ("channels", "problem"),
    [
        (["pigeon"], f"'pigeon' is not a channel; use {listed(registry.names())}"),
        (["sms", "sms"], "sms is listed twice"),
        (["web", "sms"], "web has no address to fall back to"),
        ([], "at least 1 item"),
    ],
)
async def test_a_bad_survey_order_is_refused_naming_channels(
    api: httpx.AsyncClient, channels: list[str], problem: str
) -> None:
    reply = await api.post("/api/v1/surveys", json={**SURVEY, "channels": channels})
    assert reply.status_code == 422, reply.text
    body = reply.json()
    if "field" in body:
        assert body["field"] == "channels"
        assert problem in body["detail"]
    else:
        assert body["detail"][0]["loc"][-1] == "channels" or "channels" in body["detail"][0]["loc"]
        assert problem in body["detail"][0]["msg"]


async def test_a_trigger_order_overrides_the_surveys(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "channels": ["sms", "telegram"]})
    made = await api.post("/api/v1/triggers", json=trigger(channels=["telegram", "web"]))
    assert made.status_code == 202, made.text
    # The web chat last: the link is handed back, for when every other channel fails.
    assert made.json()["channel"] == "telegram"
    assert made.json()["link"].startswith("http://chat.example.test/s/")
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        stored = await uow.invitations.get(made.json()["invitation_id"])
    assert stored is not None and stored.channels == ["telegram", "web"]


async def test_a_requested_channel_means_that_channel_alone(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "channels": ["telegram", "sms"]})
    made = await api.post("/api/v1/triggers", json=trigger(channel="sms"))
    assert made.status_code == 202, made.text
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        stored = await uow.invitations.get(made.json()["invitation_id"])
    assert stored is not None and (stored.channel, stored.channels) == ("sms", None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"channel": "sms", "channels": ["sms", "telegram"]}, "not both"),
        ({"channels": ["pigeon"]}, f"Input should be {registry.expected()}"),
        ({"channels": ["web", "sms"]}, "can only be the last channel"),
        ({"channels": ["sms", "sms"]}, "listed twice"),
    ],
)
async def test_a_bad_trigger_order_is_422_naming_channels(
    api: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    reply = await api.post("/api/v1/triggers", json=trigger(**body))
    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert "channels" in error["loc"] and problem in error["msg"]


async def test_an_order_naming_a_channel_that_is_off_is_422(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    reply = await api.post("/api/v1/triggers", json=trigger(channels=["email", "sms"]))
    assert reply.status_code == 422
    assert reply.json() == {
        "detail": "channels: email is not configured on this server",
        "field": "channels",
    }


async def test_a_survey_order_passes_over_channels_that_are_off(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "channels": ["email", "sms"]})
    made = await api.post("/api/v1/triggers", json=trigger())
    assert made.status_code == 202 and made.json()["channel"] == "sms"
    await api.post("/api/v1/surveys", json={**SURVEY, "channels": ["email"]})
    refused = await api.post("/api/v1/triggers", json=trigger(idempotency_key="k2"))
    assert refused.status_code == 422
    assert refused.json()["field"] == "survey"


async def test_no_channel_of_the_order_reaches_the_contact(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json={**SURVEY, "channels": ["telegram", "sms"]})
    reply = await api.post(
        "/api/v1/triggers",
        json={"survey": "support-csat", "contact": {"external_id": "nobody"}},
    )
    assert reply.status_code == 422
    assert reply.json() == {
        "detail": "no channel of the fallback order (telegram, sms) reaches the contact",
        "field": "contact",
    }


async def test_a_replay_with_another_order_is_a_conflict(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    first = await api.post(
        "/api/v1/triggers", json=trigger(channels=["telegram", "sms"], idempotency_key="t-1")
    )
    again = await api.post(
        "/api/v1/triggers", json=trigger(channels=["telegram", "sms"], idempotency_key="t-1")
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["invitation_id"] == again.json()["invitation_id"]
    other = await api.post(
        "/api/v1/triggers", json=trigger(channels=["sms", "telegram"], idempotency_key="t-1")
    )
    assert other.status_code == 409 and other.json()["field"] == "idempotency_key"
