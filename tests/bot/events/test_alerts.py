"""Alerts: a low score mailed (and posted, signed) once, within a minute, with the comment given
during the grace; nothing for a high score, nothing more for a later comment. Both databases,
against a real SMTP server and a webhook receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.events.alerts import GRACE, AlertRules, AlertSender
from bot.events.delivering import Deliverer
from bot.events.poster import Poster
from bot.events.posting import deliverer_for
from bot.events.routing import Consumer, Router, Subscriptions
from bot.runtime.services import Services
from bot.startup.alerting import mailer_of
from storage.outbound import Delivery
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.receiver import Receiver
from tests.standins.smtp_server import SmtpStandIn, smtp_standin
from tests.support import add_survey, answer, deliver, fire

SECRET = "receiver-secret-0123456789"
LEAD = "lead@example.com"


@dataclass(frozen=True)
class Got:
    """One alert email as it arrived: to whom, its subject, its text and HTML parts."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str


def arrived(smtp: SmtpStandIn) -> list[Got]:
    found = []
    for received in smtp.messages:
        message = received.message()
        text, html = message.get_body(("plain",)), message.get_body(("html",))
        assert text is not None and html is not None
        found.append(
            Got(
                received.recipients, str(message["Subject"]), text.get_content(), html.get_content()
            )
        )
    return found


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with smtp_standin() as server:
        yield server


@pytest.fixture
async def api(
    database_url: str, clock: FakeClock, smtp: SmtpStandIn
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, **mail_settings(smtp))
    async with app_client(settings, clock) as (client, services):
        client.app_services = services  # type: ignore[attr-defined]
        yield client


def mail_settings(smtp: SmtpStandIn) -> dict[str, Any]:
    return {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_from": "surveys@example.com",
    }


@pytest.fixture
async def pipes(api: httpx.AsyncClient) -> AsyncIterator[tuple[Router, Deliverer]]:
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with Poster() as poster:
        consumers: list[Consumer] = [Subscriptions(), AlertRules()]
        router = Router(sessions=services.sessions, clock=services.clock, consumers=consumers)
        deliverer = deliverer_for(services.sessions, services.clock, poster, "http://x.test")
        alerts = AlertSender(
            sessions=services.sessions,
            poster=poster,
            clock=services.clock,
            mailer=mailer_of(services.settings),
            base_url="http://x.test",
        )
        deliverer.senders = {**deliverer.senders, "alert": alerts}
        yield router, deliverer


async def flush(pipes: tuple[Router, Deliverer]) -> None:
    router, deliverer = pipes
    while await router.route():
        pass
    while await deliverer.send_due():
        pass


async def rule(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("survey", "support-csat")
    reply = await api.post("/api/v1/alerts", json=body)
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


async def started(services: Services, **trigger: Any) -> str:
    result = await fire(services, **trigger)
    await deliver(services)
    return result.invitation.id


async def test_a_low_score_is_mailed_once_within_a_minute_with_the_comment_given_meanwhile(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    created = await rule(api, score_max=2, emails=[LEAD, "ops@example.com"])
    contact = {"external_id": "cust-7", "name": "Åsa", "email": "asa@example.com"}
    invitation_id = await started(services, contact=contact, properties={"agent": "Bob"})
    answered_at = clock.now
    await answer(services, invitation_id, "2")
    await flush(pipes)
    assert smtp.messages == []  # the grace: a comment usually follows the score
    clock.advance(seconds=20)
    await answer(services, invitation_id, "Took three days to get an answer")
    await flush(pipes)
    assert smtp.messages == []
    clock.now = answered_at + GRACE
    await flush(pipes)
    mails = arrived(smtp)
    assert sorted(m.to for m in mails) == [("lead@example.com",), ("ops@example.com",)]
    assert clock.now - answered_at < timedelta(minutes=1)
    for mail in mails:
        assert mail.subject == "Low score on support-csat: 2 (negative) from Åsa (cust-7)"
        for part in (mail.text, mail.html):
            assert "Took three days to get an answer" in part
            assert "2 on 1–5 (negative)" in part
            assert "asa@example.com" in part and "agent: Bob" in part
            assert f"http://x.test/dashboard/invitations/{invitation_id}" in part
            assert f"Alert rule {created['id']}" in part
        assert "<script" not in mail.html and "<svg" not in mail.html
    # The conversation goes on and ends (response.updated, response.completed): nothing more.
    clock.advance(hours=2)
    await flush(pipes)
    assert len(smtp.messages) == 2


async def test_a_comment_after_the_alert_sends_nothing_more(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, reasons=["Slow reply", "Rude"])
    created = await rule(api, score_max=2, emails=[LEAD])
    invitation_id = await started(services)
    await answer(services, invitation_id, "1")
    clock.advance(seconds=50)
    await flush(pipes)
    (mail,) = arrived(smtp)
    assert "Comment:" in mail.text and "(none yet)" in mail.text
    await answer(services, invitation_id, "1")  # the reason
    await answer(services, invitation_id, "A second thought, much later")
    clock.advance(minutes=5)
    await flush(pipes)
    assert len(smtp.messages) == 1
    async with UnitOfWork(services.sessions) as uow:
        rows = (await uow.session.execute(select(Delivery))).scalars().all()
    targets = [row.target for row in rows]
    assert [t for t in targets if t.startswith("alert:")] == [f"alert:{created['id']}"]


async def test_a_high_score_sends_nothing(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    await rule(api, score_max=2, emails=[LEAD])
    await answer(services, await started(services), "3")
    clock.advance(minutes=2)
    await flush(pipes)
    assert smtp.messages == []
    async with UnitOfWork(services.sessions) as uow:
        assert (await uow.session.execute(select(Delivery))).scalars().all() == []


async def test_a_segment_filter_picks_the_answers_it_names(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False, throttle_days=0)
    await rule(api, score_max=2, emails=[LEAD], filters={"property.plan": "pro", "channel": "web"})
    pro = {"external_id": "pro-1", "properties": {"plan": "pro"}}
    free = {"external_id": "free-1", "properties": {"plan": "free"}}
    await answer(services, await started(services, contact=pro), "1")
    await answer(services, await started(services, contact=free), "1")
    clock.advance(minutes=1)
    await flush(pipes)
    (mail,) = arrived(smtp)
    assert "pro-1" in mail.subject and "plan: pro" in mail.text


async def test_an_alert_to_a_webhook_subscription_arrives_signed(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    async with Receiver(secret=SECRET) as receiver:
        hook = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url + "/hook", "events": ["response.created"], "secret": SECRET},
        )
        assert hook.status_code == 201, hook.text
        created = await rule(api, score_max=2, webhook_id=hook.json()["id"])
        invitation_id = await started(services, contact={"external_id": "cust-9"})
        await answer(services, invitation_id, "2")
        await flush(pipes)
        # The subscription's own event goes at once; the alert after the grace.
        assert [r.json["type"] for r in receiver.received] == ["response.created"]
        clock.advance(seconds=46)
        await flush(pipes)
        clock.advance(hours=1)
        await flush(pipes)
        got = [r for r in receiver.received if r.json["type"] == "alert.triggered"]
    assert len(got) == 1 and got[0].verified
    body = got[0].json
    assert body["id"] == got[0].event_id and body["id"].startswith("alr_")
    assert body["event_id"] == receiver.received[0].event_id != body["id"]
    assert body["rule"] == {"id": created["id"], "score_max": 2, "filters": {}}
    assert body["response"]["score"] == 2 and body["response"]["band"] == "negative"
    assert body["contact"]["external_id"] == "cust-9"
    assert body["timeline_url"] == f"http://x.test/dashboard/invitations/{invitation_id}"
    assert body["dashboard_url"] == "http://x.test/dashboard/surveys/support-csat"
    assert smtp.messages == []


async def test_a_failing_part_is_retried_alone(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    async with Receiver(secret=SECRET) as receiver:
        hook = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["contact.opted_out"], "secret": SECRET},
        )
        await rule(api, score_max=2, emails=[LEAD], webhook_id=hook.json()["id"])
        receiver.script(503)
        await answer(services, await started(services), "1")
        clock.advance(seconds=46)
        await flush(pipes)
        assert len(smtp.messages) == 1 and [r.answered for r in receiver.received] == [503]
        clock.advance(minutes=5)  # past the first backoff
        await flush(pipes)
        assert [r.answered for r in receiver.received] == [503, 200]
    assert len(smtp.messages) == 1  # the mail that went out is not sent again
    async with UnitOfWork(services.sessions) as uow:
        (delivery,) = (await uow.session.execute(select(Delivery))).scalars().all()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


async def test_an_erased_contacts_pending_alert_is_dropped(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    await rule(api, score_max=2, emails=[LEAD])
    await answer(services, await started(services, contact={"external_id": "gone"}), "1")
    await flush(pipes)  # planned, due after the grace
    erased = await api.delete("/api/v1/contacts/gone")
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["webhook_deliveries_dropped"] == 1
    clock.advance(minutes=2)
    await flush(pipes)
    assert smtp.messages == []


async def test_a_removed_rule_drops_its_pending_alerts(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    created = await rule(api, score_max=2, emails=[LEAD])
    await answer(services, await started(services), "1")
    await flush(pipes)
    removed = await api.delete(f"/api/v1/alerts/{created['id']}")
    assert removed.json() == {"id": created["id"], "alerts_dropped": 1}
    clock.advance(minutes=2)
    await flush(pipes)
    assert smtp.messages == []


async def test_a_slack_subscription_gets_a_slack_message(
    api: httpx.AsyncClient, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    async with Receiver(secret=SECRET) as receiver:
        hook = await api.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["contact.opted_out"], "secret": SECRET,
                  "format": "slack"},
        )  # fmt: skip
        await rule(api, score_max=2, webhook_id=hook.json()["id"])
        await answer(services, await started(services, contact={"external_id": "c-3"}), "1")
        clock.advance(minutes=1)
        await flush(pipes)
    (got,) = receiver.received
    assert got.verified
    assert (
        got.json["text"] == "Alert (support-csat, score ≤ 2): support-csat: 1 (negative) from c-3"
    )
    assert got.json["blocks"][0]["text"]["text"].startswith("*Alert:* *support-csat: 1")


async def test_an_address_refused_for_good_is_not_tried_again(
    api: httpx.AsyncClient, smtp: SmtpStandIn, pipes: tuple[Router, Deliverer], clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, ask_comment=False)
    await rule(api, score_max=2, emails=["gone@example.com", LEAD])
    smtp.refuse_next_rcpt(550)
    await answer(services, await started(services), "1")
    clock.advance(minutes=1)
    await flush(pipes)
    clock.advance(hours=2)
    await flush(pipes)
    assert [m.to for m in arrived(smtp)] == [(LEAD,)]
    assert [address for address, _ in smtp.refused] == ["gone@example.com"]
    async with UnitOfWork(services.sessions) as uow:
        (delivery,) = (await uow.session.execute(select(Delivery))).scalars().all()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
