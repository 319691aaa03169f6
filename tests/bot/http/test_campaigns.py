"""The campaigns API: add, replace, pause, resume, run now and list, and what it refuses."""

from __future__ import annotations

import asyncio

from tests.bot.campaigns.campaign_env import add_contacts, nps
from tests.conftest import FakeClock, app_client, make_settings


async def test_api(database_url: str, clock: FakeClock) -> None:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_from="surveys@example.test", smtp_tls="none"
    )
    async with app_client(settings, clock) as (client, services):
        await nps(services)
        await add_contacts(
            services,
            {"id": "a", "email": "a@example.test", "properties": {"plan": "pro"}},
            {"id": "b", "email": "b@example.test", "properties": {"plan": "free"}},
            {"id": "c", "phone": "+14155550101", "properties": {"plan": "pro"}},  # no sms here
        )
        body = {"name": "quarterly", "survey": "relationship-nps", "audience": "plan = pro"}
        created = await client.post("/api/v1/campaigns", json={**body, "cron": "0 9 1 */3 *"})
        assert created.status_code == 201, created.text
        assert created.json()["next_fire_at"] == "2027-01-01T09:00:00Z"
        assert created.json()["cadence"] == "cron 0 9 1 */3 *"
        again = await client.post("/api/v1/campaigns", json={**body, "every_months": 3})
        assert again.status_code == 409 and "already exists" in again.json()["detail"]

        refusals = [
            ({**body, "name": "x", "cron": "0 25 * * *"}, 422, "cron"),
            ({**body, "name": "x", "cron": "0 9 * * *", "channel": "sms"}, 422, "channel"),
            ({**body, "name": "x", "survey": "nope", "every_months": 1}, 404, "survey"),
        ]
        for payload, code, field in refusals:
            refused = await client.post("/api/v1/campaigns", json=payload)
            assert (refused.status_code, refused.json().get("field")) == (code, field)
        invalid = await client.post(
            "/api/v1/campaigns",
            json={**body, "name": "x", "audience": "plan =", "cron": "* * * * *"},
        )
        assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == [
            "body",
            "audience",
        ]

        replaced = await client.put(
            "/api/v1/campaigns/quarterly", json={**body, "every_months": 3, "at": "10:00"}
        )
        assert replaced.status_code == 200 and replaced.json()["spec"]["every_months"] == 3
        renamed = await client.put(
            "/api/v1/campaigns/quarterly", json={**body, "name": "other", "every_months": 3}
        )
        assert (renamed.status_code, renamed.json()["field"]) == (422, "name")
        missing = await client.put(
            "/api/v1/campaigns/nope", json={**body, "name": "nope", "every_months": 3}
        )
        assert missing.status_code == 404

        paused = await client.post("/api/v1/campaigns/quarterly/pause")
        assert paused.json()["status"] == "paused" and paused.json()["next_fire_at"] is None
        resumed = await client.post("/api/v1/campaigns/quarterly/resume")
        assert resumed.json()["status"] == "active"
        assert resumed.json()["next_fire_at"] == "2026-11-03T10:00:00Z"

        started = await client.post("/api/v1/campaigns/quarterly/runs")
        assert started.status_code == 202 and started.json()["status"] == "pending"
        await asyncio.gather(*services.tasks)
        listed_runs = (await client.get("/api/v1/campaigns/quarterly/runs")).json()
        assert listed_runs["count"] == 1
        run = listed_runs["data"][0]
        assert (run["kind"], run["status"], run["audience"], run["invited"], run["skipped"]) == (
            "manual", "done", 2, 1, 1,
        )  # fmt: skip

        listing = (await client.get("/api/v1/campaigns")).json()
        assert listing["count"] == 1 and listing["data"][0]["last_run"]["id"] == run["id"]
        detail = (await client.get("/api/v1/campaigns/quarterly")).json()
        assert [r["id"] for r in detail["recent_runs"]] == [run["id"]]
        for path in ("/campaigns/nope", "/campaigns/nope/runs"):
            assert (await client.get(f"/api/v1{path}")).status_code == 404
        for path in ("/campaigns/nope/pause", "/campaigns/nope/resume", "/campaigns/nope/runs"):
            assert (await client.post(f"/api/v1{path}")).status_code == 404
        anonymous = await client.get("/api/v1/campaigns", headers={"Authorization": ""})
        assert anonymous.status_code == 401


async def test_delete_and_archived_survey(database_url: str, clock: FakeClock) -> None:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_from="surveys@example.test", smtp_tls="none"
    )
    async with app_client(settings, clock) as (client, services):
        await nps(services)
        await add_contacts(services, {"id": "a", "email": "a@example.test"})
        body = {"name": "quarterly", "survey": "relationship-nps", "cron": "0 9 1 */3 *"}
        assert (await client.post("/api/v1/campaigns", json=body)).status_code == 201

        assert (await client.post("/api/v1/surveys/relationship-nps/archive")).status_code == 200
        refused = await client.post("/api/v1/campaigns/quarterly/runs")
        assert (refused.status_code, refused.json()["field"]) == (409, "survey")
        refused = await client.post("/api/v1/campaigns", json={**body, "name": "other"})
        assert (refused.status_code, refused.json()["field"]) == (409, "survey")
        assert (await client.post("/api/v1/surveys/relationship-nps/unarchive")).status_code == 200

        started = await client.post("/api/v1/campaigns/quarterly/runs")
        assert started.status_code == 202
        await asyncio.gather(*services.tasks)
        deleted = await client.delete("/api/v1/campaigns/quarterly")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {
            "name": "quarterly",
            "runs_deleted": 1,
            "invitations_kept": 1,
            "invitations_cancelled": 1,
        }
        assert (await client.get("/api/v1/campaigns")).json()["count"] == 0
        missing = await client.delete("/api/v1/campaigns/quarterly")
        assert (missing.status_code, missing.json()["field"]) == (404, "name")


async def test_a_campaign_timed_by_each_contact_s_date(database_url: str, clock: FakeClock) -> None:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_from="surveys@example.test", smtp_tls="none"
    )
    async with app_client(settings, clock) as (client, services):
        await nps(services, throttle_days=0)
        for external_id, properties in (
            ("due", {"renewal_date": "2027-05-02"}),  # six months after today, 2 Nov 2026
            ("later", {"renewal_date": "2027-06-01"}),
            ("none", {}),
        ):
            saved = await client.post(
                "/api/v1/contacts",
                json={
                    "external_id": external_id,
                    "email": f"{external_id}@example.com",
                    "properties": properties,
                },
            )
            assert saved.status_code == 200, saved.text
        body = {
            "name": "renewals",
            "survey": "relationship-nps",
            "relative_to": {"property": "renewal_date", "before": "6mo"},
            "at": "08:00",
            "timezone": "Europe/Helsinki",
        }
        created = await client.post("/api/v1/campaigns", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["cadence"] == "6 months before renewal_date"
        assert created.json()["spec"]["relative_to"]["grace_days"] == 3
        assert created.json()["next_fire_at"] == "2026-11-03T06:00:00Z"

        for relative_to, loc in (
            ({"property": "renewal_date", "before": "6 months"}, "before"),
            ({"property": "renewal_date", "after": "0d", "grace_days": 99}, "grace_days"),
            ({"property": "renewal_date"}, None),
            ({"property": "renewal date", "after": "1d"}, "property"),
        ):
            refused = await client.post(
                "/api/v1/campaigns", json={**body, "name": "x", "relative_to": relative_to}
            )
            assert refused.status_code == 422, refused.text
            where = refused.json()["detail"][0]["loc"]
            assert where[:2] == ["body", "relative_to"] and (loc is None or where[-1] == loc)
        both = await client.post("/api/v1/campaigns", json={**body, "name": "x", "every_months": 3})
        assert both.status_code == 422 and "give exactly one of cron" in both.text

        replaced = await client.put(
            "/api/v1/campaigns/renewals",
            json={**body, "relative_to": {"property": "renewal_date", "before": "6mo",
                                          "grace_days": 0}},
        )  # fmt: skip
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["spec"]["relative_to"]["grace_days"] == 0

        started = await client.post("/api/v1/campaigns/renewals/runs")
        assert started.status_code == 202, started.text
        await asyncio.gather(*services.tasks)
        (run,) = (await client.get("/api/v1/campaigns/renewals/runs")).json()["data"]
        assert (run["audience"], run["invited"], run["skipped"]) == (2, 1, 1)
        assert run["skipped_by_reason"] == {"no_date": 1}
