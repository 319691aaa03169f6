"""Health alerts: a survey gone silent, a channel failing, a webhook switched off, each told to
the operator once a day at most (or to the log). Both databases, a real SMTP server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from bot.events.health import HealthJob, failing_channels, silent_surveys
from bot.events.mail import Mailer, SmtpSettings
from bot.runtime.services import Services
from channels.base import PermanentSendError
from storage.outbound import Webhook
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.standins.smtp_server import SmtpStandIn, smtp_standin
from tests.support import ScriptedChannel, add_survey, deliver, fire

OPERATOR = "ops@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with smtp_standin() as server:
        yield server


@pytest.fixture
async def sms(
    database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[Services, ScriptedChannel]]:
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel}, sms_rate_per_second=0)
    try:
        yield services, channel
    finally:
        await services.close()


def job(services: Services, smtp: SmtpStandIn | None) -> HealthJob:
    mailer = None
    if smtp is not None:
        mailer = Mailer(SmtpSettings(host=smtp.host, port=smtp.port, sender="s@x.test", tls="none"))
    return HealthJob(
        sessions=services.sessions,
        clock=services.clock,
        holder="tests",
        mailer=mailer,
        operator=OPERATOR if mailer else None,
    )


def subjects(smtp: SmtpStandIn) -> list[str]:
    return [str(r.message()["Subject"]) for r in smtp.messages]


async def send(services: Services, survey: str, count: int, prefix: str) -> None:
    for i in range(count):
        await fire(services, survey, contact={"external_id": f"{prefix}-{i}"})
    await deliver(services)


async def test_a_silent_survey_is_told_once_a_day(
    services: Services, clock: FakeClock, smtp: SmtpStandIn
) -> None:
    await add_survey(services, throttle_days=0, ask_comment=False)
    await add_survey(services, key="rare", metric="csat", throttle_days=0)
    for day in range(7):
        await send(services, "support-csat", 4, f"d{day}")
        if day == 3:
            await send(services, "rare", 1, "r")
        clock.advance(days=1)
    clock.advance(hours=1)  # the last send was 25 hours ago
    health = job(services, smtp)
    (found,) = await health.check()
    assert (found.kind, found.subject) == ("silent_survey", "support-csat")
    assert subjects(smtp) == ["surveybot health: survey support-csat has sent nothing for 24 hours"]
    message = smtp.messages[0].message()
    assert message["To"] == OPERATOR
    text = message.get_body(("plain",))
    assert text is not None and "sent 28 on 7 of the 7 days before" in text.get_content()
    clock.advance(hours=3)
    assert await health.check() == []
    assert len(smtp.messages) == 1
    clock.advance(days=1)  # still silent the next day: told again
    assert [f.subject for f in await health.check()] == ["support-csat"]
    assert len(smtp.messages) == 2
    await send(services, "support-csat", 1, "back")  # it sends again: nothing to tell
    clock.advance(days=1)
    assert await health.check() == []


async def test_a_failing_channel_is_told_once_a_day(
    sms: tuple[Services, ScriptedChannel], clock: FakeClock, smtp: SmtpStandIn
) -> None:
    services, channel = sms
    await add_survey(services, throttle_days=0)
    refused = PermanentSendError("30003 unreachable", code="30003")
    channel.script = [refused if i % 5 < 2 else None for i in range(25)]
    for i in range(25):
        contact = {"external_id": f"p{i}", "phone": f"+1415555{i:04d}"}
        await fire(services, channel="sms", contact=contact)
    await deliver(services)
    clock.advance(minutes=5)
    health = job(services, smtp)
    (found,) = await health.check()
    assert (found.kind, found.subject) == ("failing_channel", "sms")
    assert "10 of 25 sends on sms failed in the last hour (40%)" in found.text
    assert subjects(smtp) == [
        "surveybot health: channel sms is failing: 40% of sends in the last hour"
    ]
    clock.advance(minutes=30)
    assert await health.check() == []
    assert len(smtp.messages) == 1


async def test_a_webhook_switched_off_is_told_once(
    services: Services, clock: FakeClock, smtp: SmtpStandIn
) -> None:
    async with UnitOfWork(services.sessions) as uow:
        await uow.webhooks.add(
            Webhook(id="wh_1", url="https://hooks.slack.test/T0/B0/secret", secret="s" * 16)
        )
        await uow.webhooks.failed("wh_1", clock.now - timedelta(days=1))
        await uow.webhooks.disable("wh_1", "HTTP 500 (gave up after 24 h)", clock.now)
        await uow.commit()
    health = job(services, smtp)
    (found,) = await health.check()
    assert found.kind == "webhook_disabled" and "hooks.slack.test" in found.text
    assert "secret" not in found.text  # a Slack URL is a secret: only its host is told
    clock.advance(days=2)
    assert await health.check() == []
    assert len(smtp.messages) == 1


async def test_without_an_operator_address_the_log_is_told(
    services: Services, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with UnitOfWork(services.sessions) as uow:
        await uow.webhooks.add(Webhook(id="wh_2", url="https://x.test/h", secret="s" * 16))
        await uow.webhooks.failed("wh_2", clock.now)
        await uow.webhooks.disable("wh_2", "HTTP 410 (not retried)", clock.now)
        await uow.commit()
    health = job(services, None)
    with caplog.at_level(logging.WARNING, logger="bot.events"):
        assert len(await health.check()) == 1
        assert await health.check() == []
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("health:")]
    assert len(told) == 1 and "wh_2" in told[0]


def test_a_channel_jumps_only_above_its_usual_share() -> None:
    usual = {"sms": (1000, 100)}  # 10 % fail in a normal week
    assert failing_channels({"sms": (40, 10)}, usual, day="d") == []  # 25 %: not 3 × 10 %
    assert [f.subject for f in failing_channels({"sms": (40, 14)}, usual, day="d")] == ["sms"]
    assert failing_channels({"sms": (19, 19)}, {}, day="d") == []  # too few sends to tell
    assert failing_channels({"email": (50, 10)}, {}, day="d") == []  # 20 % is not above 20 %


def test_a_survey_is_silent_only_when_it_normally_sends() -> None:
    keys = {1: "busy", 2: "sparse", 3: "small"}
    daily = [{1: 10, 2: 30, 3: 2}, {1: 10, 3: 2}, {1: 10, 3: 2}, {}, {}, {}, {}]
    found = silent_surveys(daily, {}, keys, hours=24, day="d")
    assert [f.subject for f in found] == ["busy"]  # sparse: 1 day; small: under 3 a day
    assert silent_surveys(daily, {1: 1}, keys, hours=24, day="d") == []
