"""A trigger must fill every {placeholder} of its survey's texts, or the survey must define it."""

from __future__ import annotations

import httpx

from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.support import add_survey, deliver, fire

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did {agent} do?"}


async def _transcript(services: Services, invitation_id: str) -> list[str]:
    async with UnitOfWork(services.sessions) as uow:
        return [m.text for m in await uow.messages.transcript(invitation_id)]


async def test_a_trigger_that_leaves_a_placeholder_unfilled_is_refused(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/api/v1/surveys", json=SURVEY)).status_code == 201
    services: Services = api.app_services  # type: ignore[attr-defined]
    known = {"external_id": "c-1", "email": "old@example.com"}
    body = {"survey": "support-csat", "contact": known, "properties": {"agent": "Ana"}}
    assert (await api.post("/api/v1/triggers", json=body)).status_code == 202
    tried = refused = 0
    for properties in ({}, {"agent": None}, {"agnet": "Ana"}):
        changed = {"external_id": "c-1", "email": "new@example.com"}
        reply = await api.post(
            "/api/v1/triggers",
            json={"survey": "support-csat", "contact": changed, "properties": properties},
        )
        tried += 1
        refused += reply.status_code == 422
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == "properties.agent"
        assert "{agent}" in reply.json()["detail"] and "placeholders" in reply.json()["detail"]
    # A new contact is not created either.
    reply = await api.post(
        "/api/v1/triggers", json={"survey": "support-csat", "contact": {"external_id": "c-2"}}
    )
    tried, refused = tried + 1, refused + (reply.status_code == 422)
    assert (tried, refused) == (4, 4)
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("c-1")
        assert contact is not None and contact.email == "old@example.com"
        assert await uow.contacts.get_by_external_id("c-2") is None
        assert await uow.invitations.count_by_status() == {"scheduled": 1}


async def test_the_contacts_properties_and_name_fill_placeholders(services: Services) -> None:
    await add_survey(services, question="{name}, how did {agent} do?", throttle_days=0)
    contact = {"external_id": "c-1", "name": "Aino", "properties": {"agent": "Ana"}}
    first = await fire(services, contact=contact)
    # Stored on the contact, the property fills the next trigger's text too.
    second = await fire(services, contact={"external_id": "c-1"}, properties={"ticket": 7})
    await deliver(services)
    for result in (first, second):
        assert (await _transcript(services, result.invitation.id))[0].startswith(
            "Aino, how did Ana do?"
        )


async def test_a_survey_default_fills_what_the_trigger_leaves_out(services: Services) -> None:
    await add_survey(
        services,
        question={"en": "How did {agent} do?", "fi": "Miten {agent} onnistui?"},
        placeholders={"agent": {"en": "our team", "fi": "tiimimme"}},
        throttle_days=0,
    )
    english = await fire(services)
    finnish = await fire(services, contact={"external_id": "c-fi", "locale": "fi"})
    named = await fire(services, contact={"external_id": "c-3"}, properties={"agent": "Bo"})
    await deliver(services)
    assert (await _transcript(services, english.invitation.id))[0].startswith(
        "How did our team do?"
    )
    assert (await _transcript(services, finnish.invitation.id))[0].startswith(
        "Miten tiimimme onnistui?"
    )
    assert (await _transcript(services, named.invitation.id))[0].startswith("How did Bo do?")
