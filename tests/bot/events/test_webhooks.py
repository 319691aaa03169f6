"""Outbound webhooks: events written with their change, routed by filters, delivered signed, at
least once, retried as promised, and switched off after a day of failures. Both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.events.delivering import Deliverer
from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.events.routing import Router, Subscriptions
from bot.runtime.services import Services
from storage.outbound import Delivery, Event
from storage.uow import UnitOfWork
from tests.conftest import FakeClock
from tests.standins.receiver import Receiver
from tests.support import add_survey, answer, deliver, fire, say

SECRET = "receiver-secret-0123456789"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
async def pipes(api: httpx.AsyncClient) -> AsyncIterator[tuple[Router, Deliverer]]:
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with Poster() as poster:
        router = Router(
            sessions=services.sessions, clock=services.clock, consumers=[Subscriptions()]
        )
        yield router, deliverer_for(services.sessions, services.clock, poster, "http://x.test")


async def subscribe(api: httpx.AsyncClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    body.setdefault("events", ["*"])
    reply = await api.post(
        "/api/v1/webhooks", json={"url": receiver.url + "/hook", "secret": SECRET, **body}
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


async def flush(pipes: tuple[Router, Deliverer]) -> None:
    router, deliverer = pipes
    while await router.route():
        pass
    while await deliverer.send_due():
        pass


async def conversation(services: Services, *texts: str, **trigger: Any) -> str:
    result = await fire(services, **trigger)
    await deliver(services)
    for text in texts:
        await answer(services, result.invitation.id, text)
    return result.invitation.id


async def test_every_event_arrives_signed_with_its_response_and_contact(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer]
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    hook = await subscribe(api, receiver)
    assert hook["id"].startswith("wh_") and hook["secret"] == SECRET
    invitation_id = await conversation(
        services,
        "2",
        "Took three days",
        contact={"external_id": "cust-7", "email": "a@example.com", "properties": {"plan": "pro"}},
        properties={"agent": "Ana", "ticket_id": "T-1"},
    )
    await flush(pipes)
    # Sent concurrently: the order of arrival is not promised (the docs say so).
    order = ["response.created", "response.updated", "response.completed"]
    got = sorted(receiver.received, key=lambda r: order.index(r.json["type"]))
    assert [r.json["type"] for r in got] == order
    assert all(r.verified for r in got)
    assert len({r.event_id for r in got}) == 3
    assert all(r.json["id"] == r.event_id for r in got)
    body = got[-1].json
    assert body["survey"] == "support-csat" and body["invitation_id"] == invitation_id
    assert body["response"]["score"] == 2 and body["response"]["band"] == "negative"
    assert body["response"]["comment"] == "Took three days"
    assert body["response"]["properties"] == {"plan": "pro", "agent": "Ana", "ticket_id": "T-1"}
    assert (
        body["contact"]["external_id"] == "cust-7" and body["contact"]["email"] == "a@example.com"
    )
    assert body["timeline_url"] == f"http://x.test/dashboard/invitations/{invitation_id}"
    # Bodies show the response as it stands when the event is first sent (here: commented).
    assert got[0].json["response"]["comment"] == "Took three days"
    # Nothing is delivered twice.
    await flush(pipes)
    assert len(receiver.received) == 3


async def test_filters_select_events(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer]
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, throttle_days=0)
    await subscribe(
        api,
        receiver,
        events=["response.created"],
        filters={"survey": "support-csat", "score_max": 2, "property.plan": "pro"},
    )
    pro = {"external_id": "p", "properties": {"plan": "pro"}}
    free = {"external_id": "f", "properties": {"plan": "free"}}
    await conversation(services, "1", contact=pro)  # matches
    await conversation(services, "5", contact=pro)  # score too high
    await conversation(services, "1", contact=free)  # another plan
    await flush(pipes)
    assert [(r.json["type"], r.json["response"]["score"]) for r in receiver.received] == [
        ("response.created", 1)
    ]


async def test_retries_keep_the_event_id_and_body_until_delivered(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    hook = await subscribe(api, receiver, events=["response.created"])
    receiver.script(500, 503, 500)
    await conversation(services, "4")
    await flush(pipes)
    for _ in range(3):
        clock.advance(hours=2)  # past every backoff
        await flush(pipes)
    got = receiver.received
    assert [r.answered for r in got] == [500, 503, 500, 200]
    assert len({r.event_id for r in got}) == 1 and len({r.body for r in got}) == 1
    assert all(r.verified for r in got)
    deliveries = (await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()
    assert deliveries["count"] == 1
    (record,) = deliveries["data"]
    assert (record["status"], record["attempts"], record["last_status"]) == ("delivered", 4, 200)


async def test_a_410_is_not_retried_and_other_4xx_neither(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False, throttle_days=0)
    hook = await subscribe(api, receiver, events=["response.created"])
    receiver.script(410, 400)
    await conversation(services, "4", contact={"external_id": "a"})
    await conversation(services, "5", contact={"external_id": "b"})
    await flush(pipes)
    clock.advance(hours=30)
    await flush(pipes)
    assert [r.answered for r in receiver.received] == [410, 400]
    deliveries = (await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["data"]
    assert {(d["status"], d["attempts"]) for d in deliveries} == {("failed", 1)}
    assert "not retried" in deliveries[0]["last_error"]


async def test_retry_after_is_honoured(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    await subscribe(api, receiver, events=["response.created"])
    receiver.script(429, headers={"Retry-After": "120"})
    await conversation(services, "4")
    await flush(pipes)
    async with UnitOfWork(services.sessions) as uow:
        (delivery,) = (await uow.session.execute(select(Delivery))).scalars().all()
    assert delivery.next_attempt_at == clock.now + timedelta(seconds=120)
    clock.advance(seconds=119)
    await flush(pipes)
    assert len(receiver.received) == 1
    clock.advance(seconds=2)
    await flush(pipes)
    assert [r.answered for r in receiver.received] == [429, 200]


async def test_an_endpoint_failing_for_a_day_is_switched_off(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    hook = await subscribe(api, receiver, events=["response.created"])
    receiver.default = 500
    await conversation(services, "4")
    for _ in range(40):
        await flush(pipes)
        clock.advance(hours=1)
    shown = (await api.get(f"/api/v1/webhooks/{hook['id']}")).json()
    assert shown["status"] == "disabled" and "failing since" in shown["disabled_reason"]
    (record,) = (await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["data"]
    assert record["status"] == "failed" and "gave up after 24 h" in record["last_error"]
    attempts = len(receiver.received)
    assert 8 <= attempts <= 30  # backoff: 30 s doubling, capped at an hour
    back = await api.post(f"/api/v1/webhooks/{hook['id']}/enable")
    assert back.json()["status"] == "active"
    receiver.default = 200
    resent = await api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{record['id']}/resend")
    assert resent.status_code == 202
    await flush(pipes)
    assert receiver.received[-1].answered == 200
    assert receiver.received[-1].event_id == receiver.received[0].event_id


async def test_a_rolled_back_change_announces_nothing(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer]
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    await subscribe(api, receiver)
    result = await fire(services)
    await deliver(services)
    await say(services, result.invitation.id, "5", message_id="m-1")
    await say(services, result.invitation.id, "5", message_id="m-1")  # redelivered: rolled back
    async with UnitOfWork(services.sessions) as uow:
        types = (await uow.session.execute(select(Event.type).order_by(Event.id))).scalars().all()
    assert types == ["response.created", "response.completed"]
    await flush(pipes)
    assert len(receiver.received) == 2


async def test_opt_outs_and_failed_invitations_are_events(
    api: httpx.AsyncClient, receiver: Receiver, pipes: tuple[Router, Deliverer]
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    await subscribe(api, receiver, events=["contact.opted_out"], format="slack")
    await conversation(services, "STOP", contact={"external_id": "quiet"})
    await flush(pipes)
    (got,) = receiver.received
    assert got.json["text"] == "quiet opted out on web"
    assert got.json["blocks"][0]["type"] == "section"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.test/h", "events": ["*"]}, "url"),
        ({"url": "http://u:p@x.test/h", "events": ["*"]}, "url"),
        ({"url": "http://x.test/h", "events": ["response.deleted"]}, "events"),
        ({"url": "http://x.test/h", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "http://x.test/h", "events": ["*"], "filters": {"scor": 1}}, "filters.scor"),
        (
            {"url": "http://x.test/h", "events": ["*"], "filters": {"score_max": 11}},
            "filters.score_max",
        ),
    ],
)
async def test_bad_subscriptions_are_refused_by_field(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    reply = await api.post("/api/v1/webhooks", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field
    assert (await api.get("/api/v1/webhooks")).json()["count"] == 0


async def test_test_list_and_remove(api: httpx.AsyncClient, receiver: Receiver) -> None:
    hook = await subscribe(api, receiver)
    tested = await api.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["status"] == "delivered" and tested.json()["event_type"] == "webhook.test"
    assert receiver.received[0].verified and receiver.received[0].json["type"] == "webhook.test"
    listed = (await api.get("/api/v1/webhooks")).json()
    assert (listed["count"] == 1 and "secret" not in listed["data"][0]) or listed["data"][0][
        "secret"
    ] is None
    removed = await api.delete(f"/api/v1/webhooks/{hook['id']}")
    assert removed.json() == {"id": hook["id"], "deliveries_dropped": 0}
    assert (await api.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404
