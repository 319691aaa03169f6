"""A contact's data exported and erased through the API: nothing of theirs is left in any table,
their scores still count, their opt-outs still hold, and the other contact keeps everything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.events.routing import Router, Subscriptions
from bot.runtime.services import Services
from storage.models import InvitationStatus
from tests.bot.privacy.privacy_env import (
    CHAT,
    COMMENT,
    EMAIL,
    NEEDLES,
    OTHER_COMMENT,
    PHONE,
    SURVEY,
    TICKET,
    fake_channels,
    found_anywhere,
    seed,
)
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.receiver import Receiver
from tests.support import deliver, invitation

ERASE = "/api/v1/contacts/erase-me"


@pytest.fixture
async def api(database_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with every channel on (stand-ins that accept each send)."""
    settings = make_settings(database_url)
    async with app_client(settings, clock, channels=fake_channels()) as (client, services):
        client.app_services = services  # type: ignore[attr-defined]
        yield client


def services_of(api: httpx.AsyncClient) -> Services:
    services: Services = api.app_services  # type: ignore[attr-defined]
    return services


async def test_the_export_holds_everything_about_the_contact(api: httpx.AsyncClient) -> None:
    seeded = await seed(services_of(api))
    reply = await api.get(f"{ERASE}/export")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    contact = body["contact"]
    assert (contact["external_id"], contact["name"], contact["phone"]) == (
        "erase-me",
        "Zelda Quixote",
        PHONE,
    )
    assert contact["email"].lower() == EMAIL.lower() and contact["telegram_chat_id"] == CHAT
    assert contact["properties"]["plan"] == "platinum-zq" and contact["timezone"]
    assert sorted(o["channel"] for o in body["opt_outs"]) == ["email", "sms"]
    invitations = {i["id"]: i for i in body["invitations"]}
    assert set(invitations) == {seeded.answered, seeded.pending, seeded.open}
    assert invitations[seeded.answered]["properties"] == {"ticket": TICKET}
    assert invitations[seeded.answered]["survey"] == SURVEY
    assert invitations[seeded.pending]["status"] == "scheduled"
    assert invitations[seeded.open]["attempts"] == 1
    texts = [(m["direction"], m["text"]) for m in body["messages"]]
    assert ("in", COMMENT) in texts and ("in", "STOP") in texts
    assert any(m["invitation_id"] is None and "Zelda here" in m["text"] for m in body["messages"])
    assert all(OTHER_COMMENT != m["text"] for m in body["messages"])
    (response,) = body["responses"]
    assert (response["score"], response["band"], response["comment"]) == (2, "negative", COMMENT)
    assert response["themes"] == ["speed"] and response["channel"] == "web"
    assert body["telegram_link_claims"][0]["chat_id"] == CHAT


async def test_an_erased_contact_leaves_no_trace_and_their_opt_outs_hold(
    api: httpx.AsyncClient,
) -> None:
    services = services_of(api)
    seeded = await seed(services)
    # A webhook subscription got the person's events, with their data, before the erasure; one
    # more event of theirs waits unsent.
    async with Receiver() as receiver, Poster() as poster:
        hook = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["*"], "secret": receiver.secret},
        )
        assert hook.status_code == 201, hook.text
        router = Router(
            sessions=services.sessions, clock=services.clock, consumers=[Subscriptions()]
        )
        while await router.route():
            pass
        deliverer = deliverer_for(services.sessions, services.clock, poster, "http://x.test")
        while await deliverer.send_due():
            pass
    assert any("Zelda" in r.body.decode() for r in receiver.received)
    assert {hit.rsplit(": ", 1)[1] for hit in await found_anywhere(services, NEEDLES)} == {
        needle.lower() for needle in NEEDLES
    }  # the search sees every value before the erasure
    other_before = (await api.get("/api/v1/contacts/keep-me/export")).json()

    reply = await api.delete(ERASE)
    assert reply.status_code == 200, reply.text
    erased = reply.json()["erased"]
    assert erased["suppressed_addresses"] == 2 and erased["opt_outs"] == 2
    assert erased["invitations_cancelled"] == 1 and erased["conversations_closed"] == 1
    assert erased["comments"] == 1 and erased["responses_kept_anonymous"] == 1
    assert erased["comment_analyses"] == 1 and erased["response_themes"] == 1
    assert erased["link_claims"] == 1 and erased["contacts"] == 1 and erased["messages"] >= 6
    assert "webhook_deliveries_dropped" in erased and "events_not_sent" in erased

    assert await found_anywhere(services, NEEDLES) == []
    assert (await invitation(services, seeded.pending)).status == InvitationStatus.CANCELLED
    assert (await invitation(services, seeded.pending)).skip_reason == "erased"
    assert (await invitation(services, seeded.open)).status == InvitationStatus.CLOSED
    assert (await invitation(services, seeded.answered)).status == InvitationStatus.COMPLETED

    again = await api.delete(ERASE)
    assert again.status_code == 404
    assert again.json() == {"detail": "contact 'erase-me' does not exist", "field": "external_id"}
    assert (await api.get(f"{ERASE}/export")).status_code == 404

    other = (await api.get("/api/v1/contacts/keep-me/export")).json()
    assert {**other, "exported_at": None} == {**other_before, "exported_at": None}
    assert other["contact"]["name"] == "Bob Keeper" and len(other["messages"]) == 5
    assert other["responses"][0]["comment"] == OTHER_COMMENT
    assert other["responses"][0]["themes"] == ["speed"]
    scores = (await api.get(f"/api/v1/surveys/{SURVEY}/scores")).json()
    assert scores["responses"] == 2 and scores["distribution"]["2"] == 1

    # Someone gives the erased phone number or email again: still opted out there.
    for channel, field, address in (("sms", "phone", PHONE), ("email", "email", EMAIL.lower())):
        trigger = {
            "survey": SURVEY,
            "contact": {"external_id": f"new-{channel}", field: address},
            "channel": channel,
        }
        reply = await api.post("/api/v1/triggers", json=trigger)
        assert reply.status_code == 202, reply.text
        assert (reply.json()["status"], reply.json()["reason"]) == ("skipped", "opted_out")
    fresh = {"survey": SURVEY, "contact": {"external_id": "n3", "phone": "+14155550123"}}
    reply = await api.post("/api/v1/triggers", json={**fresh, "channel": "sms"})
    assert reply.json()["status"] == "scheduled"  # another number is not suppressed
    # Without a channel, the trigger takes one the person has not opted out of.
    reply = await api.post(
        "/api/v1/triggers",
        json={"survey": SURVEY, "contact": {"external_id": "n4", "phone": PHONE}},
    )
    assert reply.json()["channel"] == "web" and reply.json()["status"] == "scheduled"


async def test_the_outbox_does_not_send_to_an_address_erased_after_opting_out(
    api: httpx.AsyncClient,
) -> None:
    services = services_of(api)
    await seed(services)
    # A second record of the same person, scheduled before the erasure.
    reply = await api.post(
        "/api/v1/triggers",
        json={
            "survey": SURVEY,
            "contact": {"external_id": "duplicate", "phone": PHONE},
            "channel": "sms",
            "delay_seconds": 600,
        },
    )
    assert reply.json()["status"] == "scheduled"
    assert (await api.delete(ERASE)).status_code == 200
    sms = services.channels["sms"]
    before = len(sms.sent)  # type: ignore[attr-defined]
    services.clock.advance(minutes=11)  # type: ignore[attr-defined]
    await deliver(services)
    assert len(sms.sent) == before  # type: ignore[attr-defined]
    cancelled = await invitation(services, reply.json()["invitation_id"])
    assert (cancelled.status, cancelled.skip_reason) == ("cancelled", "opted_out")


async def test_export_and_erase_take_an_admin_key_and_a_known_contact(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post("/api/v1/apikeys", json={"name": "reader", "scopes": ["read"]})
    reader = {"Authorization": f"Bearer {created.json()['key']}"}
    await api.post("/api/v1/contacts", json={"external_id": "c1", "name": "Aino"})
    for method, path in (("GET", "/api/v1/contacts/c1/export"), ("DELETE", "/api/v1/contacts/c1")):
        refused = await api.request(method, path, headers=reader)
        assert refused.status_code == 403, (method, path)
        assert refused.json() == {"detail": "this API key lacks the admin scope", "field": "scope"}
        missing = await api.request(method, path.replace("c1", "nobody"))
        assert missing.status_code == 404 and missing.json()["field"] == "external_id"
    assert (await api.get("/api/v1/contacts/c1")).json()["name"] == "Aino"  # nothing changed
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert "delete" in paths["/api/v1/contacts/{external_id}"]
    assert "get" in paths["/api/v1/contacts/{external_id}/export"]
