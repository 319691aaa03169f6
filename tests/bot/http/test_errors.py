"""Unexpected errors answer 500 JSON and are logged without data; 422s carry any input safely."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import text

from bot.runtime.services import Services
from tests.conftest import FakeClock, app_client, make_settings

PHONE, NAME, SAID = "+14155550123", "Aino Salainen", "my number is 040 123 4567, call me"
SURVEY = {"key": "support-csat", "metric": "csat"}


async def _refuse_inserts(services: Services, *tables: str) -> None:
    """Make the database refuse every insert into `tables` (an error no request can cause)."""
    async with services.sessions() as session:
        for table in tables:
            if services.settings.database_url.startswith("sqlite"):
                await session.execute(
                    text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                    )
                )
            else:
                await session.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                        "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                    )
                )
                await session.execute(
                    text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        "FOR EACH ROW EXECUTE FUNCTION refuse()"
                    )
                )
        await session.commit()


async def test_a_database_error_is_a_500_and_its_data_stays_out_of_the_log(
    database_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with app_client(make_settings(database_url), clock) as (api, services):
        assert (await api.post("/api/v1/surveys", json=SURVEY)).status_code == 201
        trig = await api.post(
            "/api/v1/triggers", json={"survey": "support-csat", "contact": {"external_id": "c1"}}
        )
        token = trig.json()["link"].rsplit("/", 1)[1]
        assert (await api.get(f"/s/{token}/state")).status_code == 200
        await _refuse_inserts(services, "contact", "message")
        caplog.clear()
        contact = {"external_id": "c2", "phone": PHONE, "name": NAME}
        failed = [
            await api.post("/api/v1/contacts", json=contact),
            await api.post(f"/s/{token}/messages", json={"text": SAID, "client_message_id": "m"}),
        ]
    # What the service logged (the test's own client logs the URLs it calls).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    for reply in failed:
        assert reply.status_code == 500
        detail = reply.json()["detail"]
        assert detail.startswith("internal error ") and "try again" in detail
        error_id = detail.split()[2].rstrip(":")
        assert f"error {error_id}:" in logged
    assert "POST /api/v1/contacts failed" in logged
    assert "POST /s/{token}/messages failed" in logged  # the route, not the token
    assert "INSERT INTO" in logged  # which statement failed, without its values
    for secret in (PHONE, PHONE[2:], NAME, SAID, "040 123 4567", token):
        assert secret not in logged


async def test_a_422_echoing_a_lone_surrogate_is_still_a_422(api: httpx.AsyncClient) -> None:
    raw = json.dumps({"external_id": "c1", "locale": "en\ud800"}).encode()
    reply = await api.post(
        "/api/v1/contacts", content=raw, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 422
    [error] = reply.json()["detail"]
    assert error["loc"] == ["body", "locale"] and error["input"] == "en\ud800"
