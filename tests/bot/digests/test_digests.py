"""Digests: the numbers of /api/v1/surveys/{key}/scores for the same period, in HTML and text,
mailed once per period across job instances (a restart), and on request. Both databases, a
real SMTP server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bot.digests.job import DigestJob
from bot.digests.render import p_text
from bot.events.mail import Mailer, SmtpSettings
from bot.insight.tagging import Tagger
from bot.runtime.services import Services
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.smtp_server import SmtpStandIn, smtp_standin
from tests.support import add_survey, answer, at, deliver, fire, store_responses

# The period of the first digest: Monday 2 November 2026 in Helsinki (UTC+2), and the day before.
SINCE, UNTIL = "2026-11-01T22:00:00+00:00", "2026-11-02T22:00:00+00:00"
BEFORE = "2026-10-31T22:00:00+00:00"
CURRENT = [
    (at(2026, 11, 2, 9, 0), "sms", "pro", "Ana", 1, None, "So slow, I had to wait for days"),
    (at(2026, 11, 2, 9, 30), "sms", "pro", "Ana", 2, None, "Slow and unhelpful"),
    (at(2026, 11, 2, 10, 0), "email", "free", "Bob", 5, None, "Terrible, slow and rude"),
    (at(2026, 11, 2, 10, 30), "email", "free", "Bob", 4, None, None),
    (at(2026, 11, 2, 11, 0), "email", "free", "Bob", 5, None, "Great, thanks!"),
]
PREVIOUS = [
    (at(2026, 11, 1, 10, 0), "sms", "pro", "Ana", 5, None, "Great service"),
    (at(2026, 11, 1, 11, 0), "sms", "pro", "Ana", 4, None, "Fine, quick answer"),
    (at(2026, 11, 1, 12, 0), "email", "free", "Bob", 5, None, None),
    (at(2026, 11, 1, 13, 0), "email", "free", "Bob", 3, None, "Slow today"),
]


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with smtp_standin() as server:
        yield server


@pytest.fixture
async def api(
    database_url: str, clock: FakeClock, smtp: SmtpStandIn
) -> AsyncIterator[httpx.AsyncClient]:
    mail = {"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_tls": "none",
            "smtp_from": "surveys@example.com"}  # fmt: skip
    async with app_client(make_settings(database_url, **mail), clock) as (client, services):
        client.app_services = services  # type: ignore[attr-defined]
        yield client


def job(services: Services, smtp: SmtpStandIn, holder: str) -> DigestJob:
    smtp_settings = SmtpSettings(host=smtp.host, port=smtp.port, sender="s@x.test", tls="none")
    return DigestJob(
        sessions=services.sessions,
        clock=services.clock,
        holder=holder,
        mailer=Mailer(smtp_settings),
        base_url="http://x.test",
    )


def parts(smtp: SmtpStandIn, index: int) -> tuple[str, str, str]:
    message = smtp.messages[index].message()
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return str(message["Subject"]), text.get_content(), html.get_content()


async def seed(services: Services) -> None:
    await add_survey(services, throttle_days=0, themes={"speed": {"en": ["slow", "wait"]}})
    await store_responses(services, "support-csat", CURRENT + PREVIOUS)
    # Three questions sent on the day, two answered: a response rate.
    for number, score in enumerate(["5", "4", None]):
        result = await fire(services, contact={"external_id": f"asked-{number}"})
        await deliver(services)
        if score is not None:
            await answer(services, result.invitation.id, score)
    await Tagger(sessions=services.sessions, clock=services.clock, holder="t").tick()


async def add_digest(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body = {"survey": "support-csat", "every": "daily", "to": ["lead@example.com"],
            "at": "08:00", "timezone": "Europe/Helsinki", **body}  # fmt: skip
    reply = await api.post("/api/v1/digests", json=body)
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


async def test_a_digest_carries_the_apis_numbers_and_goes_once_per_period(
    api: httpx.AsyncClient, smtp: SmtpStandIn, clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await seed(services)
    digest = await add_digest(api)
    assert digest["next_send_at"] == "2026-11-03T08:00:00+02:00"
    first = job(services, smtp, "process-1")
    assert await first.tick() == []  # a new digest starts with the next period
    clock.now = at(2026, 11, 3, 6, 30)  # 08:30 in Helsinki
    (sent,) = await first.tick()
    assert (sent.period.key, sent.delivered) == ("2026-11-02", 1)
    # A restart (a new job, another process) and a second tick send nothing more.
    assert await job(services, smtp, "process-2").tick() == []
    assert await first.tick() == []
    assert len(smtp.messages) == 1
    assert smtp.messages[0].recipients == ("lead@example.com",)

    scores = await api.get(
        "/api/v1/surveys/support-csat/scores",
        params={"from": SINCE, "to": UNTIL, "compare_from": BEFORE, "compare_to": SINCE},
    )
    report = scores.json()
    comparison = report["comparison"]
    subject, text, html = parts(smtp, 0)
    assert subject == f"support-csat, Monday 2 November 2026: CSAT {report['score']:.1f} %" + (
        f" ({comparison['difference']:+.1f})"
    )
    expected = [
        f"{report['score']:.1f} %",
        f"{report['interval'][0]:.1f}–{report['interval'][1]:.1f} %",
        f"{comparison['difference']:+.1f} % points against the day before",
        f"{comparison['previous']['score']:.1f} % from {comparison['previous']['responses']}",
        f"{comparison['test']}, {p_text(comparison['p_value'])}",
        f"{report['response_rate'] * 100:.0f} % ({report['answered']} of {report['sent']} sent)",
        f"{report['average']:.2f} on 1–5",
        "So slow, I had to wait for days",  # the latest low scores with a comment
        "Terrible, slow and rude",  # a 5 whose words disagree
        "speed",  # the theme that grew
        "http://x.test/dashboard/surveys/support-csat",
    ]
    assert report["responses"] == 7 and report["sent"] == 3 and report["answered"] == 2
    for figure in expected:
        assert figure in " ".join(text.split()), figure  # plain-text lines wrap at 78
        assert figure in html, figure
    assert re.search(rf"^Responses: +{report['responses']}\r?$", text, re.MULTILINE)
    assert f">{report['responses']}</td>" in html
    assert "<svg" not in html and "<img" not in html and "<script" not in html
    disagreeing = text.split("Comments whose words and score disagree", 1)[1]
    assert "Terrible, slow and rude" in disagreeing and "Great, thanks!" not in disagreeing

    # The next day's digest goes the next morning, from whichever process holds the lease.
    clock.now = at(2026, 11, 4, 6, 1)
    (following,) = await job(services, smtp, "process-2").tick()
    assert following.period.key == "2026-11-03" and len(smtp.messages) == 2
    assert "no responses in this period" in parts(smtp, 1)[1]


async def test_a_weekly_digest_covers_the_previous_iso_week(
    api: httpx.AsyncClient, smtp: SmtpStandIn, clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await seed(services)
    await add_digest(
        api, every="weekly", at="07:00", timezone="UTC", to=["a@example.com", "b@example.com"]
    )
    clock.now = at(2026, 11, 9, 6, 59)  # Monday, a minute early
    assert await job(services, smtp, "p").tick() == []
    clock.now = at(2026, 11, 9, 7, 0)
    (sent,) = await job(services, smtp, "p").tick()
    assert sent.period.key == "2026-11-02" and sent.delivered == 2
    subject, text, _ = parts(smtp, 0)
    assert subject.startswith("support-csat, week 45 of 2026 (2–8 November): CSAT")
    assert "against the week before" in text


async def test_send_now_mails_the_latest_period_and_leaves_the_schedule(
    api: httpx.AsyncClient, smtp: SmtpStandIn, clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await seed(services)
    digest = await add_digest(api)
    clock.now = at(2026, 11, 3, 7, 0)
    reply = await api.post(f"/api/v1/digests/{digest['id']}/send")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "id": digest["id"],
        "period": {"start": "2026-11-02", "from": SINCE, "to": UNTIL},
        "delivered": 1,
        "failed": 0,
    }
    assert len(smtp.messages) == 1
    (scheduled,) = await job(services, smtp, "p").tick()  # the schedule still sends its own
    assert scheduled.period.key == "2026-11-02" and len(smtp.messages) == 2
    assert (await api.post("/api/v1/digests/999/send")).status_code == 404


async def test_a_refused_send_is_tried_again_later(
    api: httpx.AsyncClient, smtp: SmtpStandIn, clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await seed(services)
    await add_digest(api)
    clock.now = at(2026, 11, 3, 6, 30)
    smtp.refuse_next_rcpt(451)
    digests = job(services, smtp, "p")
    assert await digests.tick() == [] and smtp.messages == []
    clock.advance(minutes=1)
    assert await digests.tick() == []  # waits before trying again
    clock.advance(minutes=5)
    (sent,) = await digests.tick()
    assert sent.delivered == 1 and len(smtp.messages) == 1
