"""The surveys API: create, update, list and read; archive; invalid surveys named by field."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.support import deliver, fire, say

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


def _services(api: httpx.AsyncClient) -> Services:
    return api.app_services  # type: ignore[attr-defined, no-any-return]


async def test_get_one_survey_with_its_counts(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    services = _services(api)
    first = await fire(services, properties={"agent": "Ana"})
    await fire(services, contact={"external_id": "c2"}, properties={"agent": "Bo"})
    await deliver(services)
    await say(services, first.invitation.id, "5")
    reply = await api.get("/api/v1/surveys/support-csat")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["key"] == "support-csat" and body["definition"]["question"] == "How did {agent} do?"
    assert body["archived_at"] is None
    assert body["invitations"] == {"answered": 1, "sent": 1} and body["responses"] == 1
    for key in ("nope", "x" * 300):
        missing = await api.get(f"/api/v1/surveys/{quote(key)}")
        assert (missing.status_code, missing.json()["field"]) == (404, "key"), key
        assert "does not exist" in missing.json()["detail"]


async def test_archived_survey_takes_no_triggers_and_keeps_its_data(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    services = _services(api)
    before = await fire(services, properties={"agent": "Ana"})
    await deliver(services)
    await say(services, before.invitation.id, "4")
    trigger = {
        "survey": "support-csat",
        "contact": {"external_id": "c-new"},
        "channel": "web",
        "properties": {"agent": "Ana"},
    }

    archived = await api.post("/api/v1/surveys/support-csat/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"] == "2026-11-02T12:00:00Z"
    services.clock.advance(hours=1)  # type: ignore[attr-defined]
    again = await api.post("/api/v1/surveys/support-csat/archive")
    assert again.json()["archived_at"] == "2026-11-02T12:00:00Z"  # the first time stays

    refused = await api.post("/api/v1/triggers", json=trigger)
    assert (refused.status_code, refused.json()["field"]) == (409, "survey")
    assert "archived" in refused.json()["detail"]
    async with UnitOfWork(services.sessions) as uow:
        assert await uow.contacts.get_by_external_id("c-new") is None  # it changed nothing
        assert await uow.invitations.count_by_status() == {"answered": 1}
    # Its data stays: the survey is listed, its report and its answers still read.
    assert (await api.get("/api/v1/surveys")).json()["data"][0]["archived_at"] is not None
    scores = await api.get("/api/v1/surveys/support-csat/scores")
    assert scores.status_code == 200 and scores.json()["responses"] == 1
    # Loading the definition again updates it and leaves it archived.
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 3})
    assert (await api.get("/api/v1/surveys/support-csat")).json()["archived_at"] is not None

    unarchived = await api.post("/api/v1/surveys/support-csat/unarchive")
    assert unarchived.status_code == 200 and unarchived.json()["archived_at"] is None
    accepted = await api.post("/api/v1/triggers", json=trigger)
    assert accepted.status_code == 202, accepted.text
    for path in ("/api/v1/surveys/nope/archive", "/api/v1/surveys/nope/unarchive"):
        missing = await api.post(path)
        assert (missing.status_code, missing.json()["field"]) == (404, "key")


async def test_a_scale_change_is_refused_once_the_survey_has_answers(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/api/v1/surveys", json=SURVEY)).status_code == 201
    # No answers yet: the scale may still change (and back).
    assert (await api.post("/api/v1/surveys", json={**SURVEY, "scale": [1, 7]})).status_code == 200
    assert (await api.post("/api/v1/surveys", json=SURVEY)).status_code == 200
    services = _services(api)
    answered = await fire(services, properties={"agent": "Ana"})
    await deliver(services)
    await say(services, answered.invitation.id, "4")
    tried = refused = 0
    for change, field in (
        ({"scale": [1, 3]}, "scale"),
        ({"scale": [1, 7], "positive_from": 5}, "scale"),
        ({"metric": "nps"}, "metric"),
        ({"metric": "ces"}, "metric"),  # CES is on 1-7 unless a scale says otherwise
    ):
        reply = await api.post("/api/v1/surveys", json={**SURVEY, **change})
        tried, refused = tried + 1, refused + (reply.status_code == 409)
        assert reply.status_code == 409, reply.text
        body = reply.json()
        assert body["field"] == field
        assert "1 answer was given on the scale 1-5" in body["detail"]
        assert "new survey under a new key (for example 'support-csat-v2')" in body["detail"]
    assert (tried, refused) == (4, 4)
    stored = (await api.get("/api/v1/surveys/support-csat")).json()["definition"]
    assert (stored["metric"], stored["scale"]) == ("csat", [1, 5])
    # Changes that keep the scale still go through, and so do the reports.
    for kept in ({"positive_from": 5}, {"metric": "ces", "scale": [1, 5]}, {"throttle_days": 7}):
        assert (await api.post("/api/v1/surveys", json={**SURVEY, **kept})).status_code == 200
    scores = await api.get("/api/v1/surveys/support-csat/scores")
    assert scores.status_code == 200 and scores.json()["responses"] == 1


async def test_quiet_hours_for_an_unknown_channel_are_refused(api: httpx.AsyncClient) -> None:
    hours = {"sms": ["09:00", "20:00"], "fax": ["09:00", "20:00"]}
    reply = await api.post("/api/v1/surveys", json={**SURVEY, "quiet_hours": hours})
    assert reply.status_code == 422
    assert reply.json()["field"] == "quiet_hours.fax"
    assert reply.json()["detail"] == (
        "quiet_hours: 'fax' is not a channel; use 'telegram', 'sms', 'whatsapp', 'email' or 'web'"
    )
    assert (await api.get("/api/v1/surveys")).json()["count"] == 0
    # A channel that is not configured here is still a channel.
    hours = {"telegram": None, "sms": ["08:00", "21:00"]}
    reply = await api.post("/api/v1/surveys", json={**SURVEY, "quiet_hours": hours})
    assert reply.status_code == 201


async def test_whatsapp_templates_are_kept_and_bad_ones_refused(api: httpx.AsyncClient) -> None:
    sid = "HX" + "0123456789abcdef" * 2
    template = {"content_sid": sid, "variables": {"1": "{name}", "2": "{agent}"}}
    created = await api.post(
        "/api/v1/surveys", json={**SURVEY, "whatsapp": {"templates": {"en": template}}}
    )
    assert created.status_code == 201, created.text
    assert created.json()["definition"]["whatsapp"]["templates"]["en"] == template
    bad = {"content_sid": "HX123", "variables": {"1": "{name}"}}
    reply = await api.post(
        "/api/v1/surveys",
        json={**SURVEY, "key": "other", "whatsapp": {"templates": {"en": bad}}},
    )
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-4:] == ["whatsapp", "templates", "en", "content_sid"]
    assert "is not a Content SID" in reply.json()["detail"][0]["msg"]
    assert (await api.get("/api/v1/surveys")).json()["count"] == 1
