"""/api/v1/apikeys with an admin key, and what a key of each scope may and may not do."""

from __future__ import annotations

import httpx
import pytest

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.conftest import FakeClock

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did we do?"}
TRIGGER = {"survey": "support-csat", "contact": {"external_id": "c-1"}, "channel": "web"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_key(api: httpx.AsyncClient, name: str, *scopes: str) -> dict[str, str]:
    reply = await api.post("/api/v1/apikeys", json={"name": name, "scopes": list(scopes)})
    assert reply.status_code == 201, reply.text
    return bearer(reply.json()["key"])


async def test_admin_creates_lists_and_revokes_keys(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    created = await api.post("/api/v1/apikeys", json={"name": "helpdesk", "scopes": ["triggers"]})
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("sb_") and body["prefix"] == body["key"][:10]
    assert body["scopes"] == ["triggers"] and body["revoked_at"] is None
    helpdesk = bearer(body["key"])
    await api.post("/api/v1/surveys", json=SURVEY)
    assert (await api.post("/api/v1/triggers", json=TRIGGER, headers=helpdesk)).status_code == 202

    listed = (await api.get("/api/v1/apikeys")).json()
    assert listed["count"] == 2
    by_name = {row["name"]: row for row in listed["data"]}
    assert set(by_name) == {"tests", "helpdesk"} and all("key" not in r for r in listed["data"])
    assert by_name["helpdesk"]["last_used_at"] == clock().isoformat().replace("+00:00", "Z")
    assert by_name["tests"]["scopes"] == ["admin"]

    revoked = await api.delete("/api/v1/apikeys/helpdesk")
    assert revoked.status_code == 200 and revoked.json() == {"name": "helpdesk", "revoked": 1}
    after = await api.post("/api/v1/triggers", json=TRIGGER, headers=helpdesk)
    assert after.status_code == 401 and after.json()["detail"] == "invalid API key"
    listed = (await api.get("/api/v1/apikeys")).json()
    assert {r["name"]: r["revoked_at"] is not None for r in listed["data"]}["helpdesk"]


async def test_no_scopes_given_means_admin(api: httpx.AsyncClient) -> None:
    reply = await api.post("/api/v1/apikeys", json={"name": "ops"})
    assert reply.status_code == 201 and reply.json()["scopes"] == ["admin"]
    assert (
        await api.get("/api/v1/apikeys", headers=bearer(reply.json()["key"]))
    ).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "hd", "scopes": ["write"]}, "scopes"),
        ({"name": "hd", "scopes": []}, "scopes"),
        ({"name": "a/b"}, "name"),
        ({"name": "x\u0000"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "hd", "key": "sb_mine"}, "key"),
    ],
)
async def test_a_bad_new_key_is_refused_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    reply = await api.post("/api/v1/apikeys", json=body)
    assert reply.status_code == 422
    assert field in reply.json()["detail"][0]["loc"]
    assert (await api.get("/api/v1/apikeys")).json()["count"] == 1


async def test_revoking_an_unknown_name_is_404_naming_it(api: httpx.AsyncClient) -> None:
    reply = await api.delete("/api/v1/apikeys/nobody")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "no active API key is named 'nobody'", "field": "name"}


async def test_revoking_a_shared_name_revokes_all_and_counts_them(api: httpx.AsyncClient) -> None:
    first = await new_key(api, "helpdesk", "triggers")
    second = await new_key(api, "helpdesk", "read")
    reply = await api.delete("/api/v1/apikeys/helpdesk")
    assert reply.json() == {"name": "helpdesk", "revoked": 2}
    for headers in (first, second):
        assert (await api.get("/api/v1/surveys", headers=headers)).status_code == 401


async def test_a_triggers_key_triggers_and_cancels_but_reads_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    helpdesk = await new_key(api, "helpdesk", "triggers")
    triggered = await api.post("/api/v1/triggers", json=TRIGGER, headers=helpdesk)
    assert triggered.status_code == 202
    invitation = triggered.json()["invitation_id"]
    cancelled = await api.delete(f"/api/v1/invitations/{invitation}", headers=helpdesk)
    assert cancelled.status_code == 200

    refused = {
        ("GET", "/api/v1/responses?survey=support-csat"): "read",
        ("GET", "/api/v1/surveys"): "read",
        ("GET", "/api/v1/surveys/support-csat/scores"): "read",
        ("GET", "/api/v1/campaigns"): "read",
        ("POST", "/api/v1/surveys"): "admin",
        ("POST", "/api/v1/contacts"): "admin",
        ("GET", "/api/v1/apikeys"): "admin",
        ("POST", "/api/v1/apikeys"): "admin",
        ("DELETE", "/api/v1/apikeys/tests"): "admin",
    }
    bodies = {"/api/v1/surveys": {**SURVEY, "question": "Changed?"}, "/api/v1/contacts": {}}
    bodies["/api/v1/apikeys"] = {"name": "mine"}
    for (method, path), scope in refused.items():
        body = bodies.get(path) if method == "POST" else None
        reply = await api.request(method, path, json=body, headers=helpdesk)
        assert reply.status_code == 403, (method, path, reply.text)
        assert reply.json() == {"detail": f"this API key lacks the {scope} scope", "field": "scope"}

    surveys = (await api.get("/api/v1/surveys")).json()["data"]
    assert [s["definition"]["question"] for s in surveys] == [SURVEY["question"]]  # unchanged
    assert (await api.get("/api/v1/apikeys")).json()["count"] == 2  # nothing created or revoked


async def test_a_read_key_reads_but_neither_triggers_nor_changes(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    reader = await new_key(api, "dashboard", "read")
    for path in ("/api/v1/surveys", "/api/v1/responses?survey=support-csat", "/api/v1/campaigns"):
        assert (await api.get(path, headers=reader)).status_code == 200, path
    trigger = await api.post("/api/v1/triggers", json=TRIGGER, headers=reader)
    assert trigger.status_code == 403 and trigger.json()["detail"].endswith("triggers scope")
    cancel = await api.delete("/api/v1/invitations/nope", headers=reader)
    assert cancel.status_code == 403
    link = await api.get("/api/v1/contacts/c-1/telegram-link", headers=reader)
    assert link.status_code == 403 and link.json()["detail"].endswith("admin scope")
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.invitations.count_by_status() == {}


async def test_a_key_with_both_scopes_does_both(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    both = await new_key(api, "crm", "triggers", "read")
    assert (await api.post("/api/v1/triggers", json=TRIGGER, headers=both)).status_code == 202
    responses = await api.get("/api/v1/responses?survey=support-csat", headers=both)
    assert responses.status_code == 200
    assert (await api.post("/api/v1/surveys", json=SURVEY, headers=both)).status_code == 403


async def test_last_used_is_written_at_most_once_a_minute(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    reader = await new_key(api, "dashboard", "read")

    async def last_used() -> str | None:
        rows = (await api.get("/api/v1/apikeys")).json()["data"]
        value: str | None = {row["name"]: row["last_used_at"] for row in rows}["dashboard"]
        return value

    assert await last_used() is None
    first = clock()
    await api.get("/api/v1/surveys", headers=reader)
    clock.advance(seconds=59)
    await api.get("/api/v1/surveys", headers=reader)
    assert await last_used() == first.isoformat().replace("+00:00", "Z")
    later = clock.advance(seconds=1)
    await api.get("/api/v1/surveys", headers=reader)
    assert await last_used() == later.isoformat().replace("+00:00", "Z")


async def test_the_schema_declares_403_and_429_on_protected_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    protected = [
        operation
        for path, item in paths.items()
        if path.startswith("/api/v1/")
        for operation in item.values()
    ]
    assert len(protected) > 10
    for operation in protected:
        assert {"401", "403", "429"} <= set(operation["responses"])
        assert "Retry-After" in operation["responses"]["429"]["headers"]
