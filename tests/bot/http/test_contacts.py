"""The contacts API: an upsert merges what is given; one contact reads with their history."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.support import add_survey, fire


async def test_contact_upsert(api: httpx.AsyncClient) -> None:
    first = await api.post(
        "/api/v1/contacts", json={"external_id": "c9", "phone": "+358 40 123 4567"}
    )
    assert first.status_code == 200 and first.json()["phone"] == "+358401234567"
    second = await api.post("/api/v1/contacts", json={"external_id": "c9", "name": "Aino"})
    assert second.json()["phone"] == "+358401234567" and second.json()["name"] == "Aino"


async def test_read_a_contact_with_opt_outs_and_recent_invitations(
    api: httpx.AsyncClient,
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, question="How did we do?", throttle_days=0)
    await api.post(
        "/api/v1/contacts",
        json={"external_id": "c9", "name": "Aino", "phone": "+358 40 123 4567", "locale": "fi"},
    )
    first = await fire(services, contact={"external_id": "c9"})
    services.clock.advance(minutes=5)  # type: ignore[attr-defined]
    second = await fire(services, contact={"external_id": "c9"}, properties={"n": 2})
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("c9")
        assert contact is not None and contact.id is not None
        await uow.opt_outs.add(contact.id, "sms", source="keyword")
        await uow.commit()

    reply = await api.get("/api/v1/contacts/c9")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["name"], body["phone"], body["locale"]) == ("Aino", "+358401234567", "fi")
    assert [(o["channel"], o["source"]) for o in body["opt_outs"]] == [("sms", "keyword")]
    recent = body["recent_invitations"]
    assert [i["id"] for i in recent] == [second.invitation.id, first.invitation.id]
    assert recent[0]["survey"] == "support-csat" and recent[0]["status"] == "scheduled"
    assert recent[0]["channel"] == "web" and recent[0]["send_at"] is not None

    for external_id in ("nobody", "x" * 300):
        missing = await api.get(f"/api/v1/contacts/{quote(external_id)}")
        assert (missing.status_code, missing.json()["field"]) == (404, "external_id")
        assert "does not exist" in missing.json()["detail"]


async def test_date_properties_are_iso_dates(api: httpx.AsyncClient) -> None:
    saved = await api.post(
        "/api/v1/contacts",
        json={
            "external_id": "d1",
            "properties": {"renewal_date": "20270531", "Signup_Date": " 2026-01-15 ", "n": "x"},
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["properties"] == {
        "renewal_date": "2027-05-31",
        "Signup_Date": "2026-01-15",
        "n": "x",
    }
    for value, message in (
        ("31/05/2027", "not an ISO 8601 date; use YYYY-MM-DD"),
        ("2027-02-29", "not a day of the calendar"),
        (20270531, "not an ISO 8601 date"),
        ("2027-05-31T09:00:00Z", "not an ISO 8601 date"),
    ):
        refused = await api.post(
            "/api/v1/contacts",
            json={"external_id": "d1", "properties": {"renewal_date": value}},
        )
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert error["loc"] == ["body", "properties", "renewal_date"]
        assert message in error["msg"]
    cleared = await api.post(
        "/api/v1/contacts", json={"external_id": "d1", "properties": {"renewal_date": None}}
    )
    assert cleared.status_code == 200 and cleared.json()["properties"]["renewal_date"] is None
    # Properties not named …_date take any value, dates or not.
    other = await api.post(
        "/api/v1/contacts", json={"external_id": "d1", "properties": {"renews": "31/05/2027"}}
    )
    assert other.status_code == 200
