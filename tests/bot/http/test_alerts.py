"""/api/v1/alerts: rules added, listed and removed with an admin key; bad input refused by field
and nothing stored. Both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.runtime.services import Services
from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey

MAIL = {"smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_tls": "none", "smtp_from": "s@x.test"}


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with SMTP settings (nothing is mailed here) and the NPS and CSAT surveys."""
    async with app_client(make_settings(database_url, **MAIL), clock) as (client, services):
        await add_survey(services)
        await add_survey(services, key="relationship-nps", metric="nps")
        client.app_services = services  # type: ignore[attr-defined]
        yield client


async def webhook(api: httpx.AsyncClient) -> str:
    reply = await api.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]}
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


async def test_add_list_and_remove(api: httpx.AsyncClient) -> None:
    hook = await webhook(api)
    body = {
        "survey": "relationship-nps",
        "score_max": 6,
        "filters": {"channel": "sms", "property.plan": "pro"},
        "emails": ["Lead@Example.com", "lead@example.com"],
        "webhook_id": hook,
    }
    created = await api.post("/api/v1/alerts", json=body)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["survey"] == "relationship-nps" and rule["score_max"] == 6
    assert rule["emails"] == ["Lead@example.com", "lead@example.com"]
    assert rule["filters"] == {"channel": "sms", "property.plan": "pro"}
    assert rule["webhook_id"] == hook
    await api.post("/api/v1/alerts", json={"survey": "support-csat", "score_max": 2,
                                          "webhook_id": hook})  # fmt: skip
    listed = (await api.get("/api/v1/alerts")).json()
    assert listed["count"] == 2 and listed["data"][0]["id"] == rule["id"]
    only = (await api.get("/api/v1/alerts", params={"survey": "support-csat"})).json()
    assert [r["survey"] for r in only["data"]] == ["support-csat"]
    assert (await api.get("/api/v1/alerts", params={"survey": "nope"})).status_code == 404
    removed = await api.delete(f"/api/v1/alerts/{rule['id']}")
    assert removed.json() == {"id": rule["id"], "alerts_dropped": 0}
    assert (await api.delete(f"/api/v1/alerts/{rule['id']}")).status_code == 404
    assert (await api.delete("/api/v1/alerts/99999999999")).status_code == 422
    assert (await api.get("/api/v1/alerts")).json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"survey": "nope", "score_max": 2, "emails": ["a@example.com"]}, "survey"),
        ({"score_max": 6, "emails": ["a@example.com"]}, "score_max"),  # CSAT is 1-5
        ({"score_max": 0, "emails": ["a@example.com"]}, "score_max"),
        ({"score_max": 2, "emails": ["not an address"]}, "emails"),
        ({"score_max": 2}, "emails"),
        ({"score_max": 2, "webhook_id": "wh_missing"}, "webhook_id"),
        ({"score_max": 2, "emails": ["a@example.com"], "filters": {"score_min": "1"}},
         "filters.score_min"),
        ({"score_max": 2, "emails": ["a@example.com"], "filters": {"property.": "x"}},
         "filters.property."),
    ],
)  # fmt: skip
async def test_bad_rules_are_refused_by_field(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    body.setdefault("survey", "support-csat")
    reply = await api.post("/api/v1/alerts", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field
    assert (await api.get("/api/v1/alerts")).json()["count"] == 0


async def test_a_malformed_body_is_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    reply = await api.post("/api/v1/alerts", json={"survey": "support-csat", "score_max": "low"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "score_max"]
    reply = await api.post("/api/v1/alerts", json={"survey": "support-csat\x00", "score_max": 2})
    assert reply.status_code == 422


async def test_mail_alerts_need_the_smtp_settings(database_url: str, clock: FakeClock) -> None:
    async with app_client(make_settings(database_url), clock) as (client, services):
        await add_survey(services)
        reply = await client.post(
            "/api/v1/alerts",
            json={"survey": "support-csat", "score_max": 2, "emails": ["a@example.com"]},
        )
        assert reply.status_code == 422 and reply.json()["field"] == "emails"
        assert "SURVEYBOT_SMTP_HOST" in reply.json()["detail"]


async def test_rules_need_an_admin_key(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    from storage.uow import UnitOfWork

    async with UnitOfWork(services.sessions) as uow:
        _, key = await uow.api_keys.create("reader", scopes=["read"])
        await uow.commit()
    reply = await api.get("/api/v1/alerts", headers={"Authorization": f"Bearer {key}"})
    assert reply.status_code == 403
