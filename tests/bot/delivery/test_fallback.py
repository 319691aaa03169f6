"""Channel fallback: a send that fails for good moves the same invitation to the next channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.invitations.timeline import invitation_detail
from bot.runtime.services import Services
from bot.wiring.sms import record_status
from channels.base import InboundMessage, PermanentSendError, TransientSendError
from storage.models import Contact, Invitation
from storage.uow import UnitOfWork
from tests.conftest import FakeClock, services_with
from tests.support import ScriptedChannel, add_survey, fire, invitation

EVERYWHERE = {
    "external_id": "p1",
    "telegram_chat_id": "5150",
    "phone": "+14155550123",
    "email": "p1@example.com",
    "locale": "en",
}
ORDER = ["telegram", "sms", "email"]
BLOCKED = PermanentSendError(
    "Telegram: Forbidden: bot was blocked by the user", code="403", suppress=True
)


class Channels:
    """Scripted telegram, sms and email channels, and the services that send through them."""

    def __init__(self, **scripts: list[Exception | None]) -> None:
        self.by_name = {
            name: ScriptedChannel(*scripts.get(name, []), prefix=name[:2].upper())
            for name in ("telegram", "sms", "email")
        }
        for name, channel in self.by_name.items():
            channel.name = name

    def sent(self, name: str) -> list[str]:
        return [message.text for message in self.by_name[name].sent]


async def started(
    database_url: str, clock: FakeClock, channels: Channels, **settings: Any
) -> Services:
    no_limits = {f"{name}_rate_per_second": 0 for name in ("telegram", "sms", "email")}
    return await services_with(
        database_url, clock, dict(channels.by_name), **{**no_limits, **settings}
    )


async def failures(services: Services, invitation_id: str) -> list[tuple[str, str, str | None]]:
    async with UnitOfWork(services.sessions) as uow:
        rows = await uow.failures.of_invitation(invitation_id)
    return [(row.channel, row.reason, row.code) for row in rows]


async def events(services: Services, kind: str) -> list[str | None]:
    async with UnitOfWork(services.sessions) as uow:
        return [e.invitation_id for e in await uow.events.unrouted(1000) if e.type == kind]


async def funnel(services: Services) -> dict[str, Any]:
    from bot.insight.scores import build_report

    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key("support-csat")
        assert row is not None
        report = await build_report(uow, row)
    return dict(report["funnel"])


async def test_a_blocked_bot_falls_back_to_sms_with_the_same_invitation(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=ORDER, quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        assert (made.invitation.channel, made.invitation.channels) == ("telegram", ORDER)
        assert await services.outbox.send_due() == 1  # telegram refuses: on to SMS
        moved = await invitation(services, made.invitation.id)
        assert (moved.status, moved.channel, moved.attempts) == ("scheduled", "sms", 0)
        assert moved.last_error == "telegram: Telegram: Forbidden: bot was blocked by the user"
        assert await services.outbox.send_due() == 1
        sent = await invitation(services, made.invitation.id)
        assert (sent.status, sent.channel, sent.last_error) == ("sent", "sms", None)
        assert len(channels.sent("telegram")) == len(channels.sent("sms")) == 1
        assert channels.sent("email") == []
        assert await failures(services, made.invitation.id) == [("telegram", "refused", "403")]
        async with UnitOfWork(services.sessions) as uow:  # the blocked chat is suppressed
            assert await uow.opt_outs.channels_of(made.invitation.contact_id) == {"telegram"}
        assert await events(services, "invitation.failed") == []
        counted = await funnel(services)
        assert (counted["sent"], counted["reached"], counted["fell_back"]) == (1, {"sms": 1}, 1)
        assert counted["channel_failures"] == {"telegram": {"refused": 1}}
        async with UnitOfWork(services.sessions) as uow:
            detail = await invitation_detail(uow, made.invitation.id)
        steps = [(e.event, e.channel) for e in detail.timeline]
        assert steps == [("created", None), ("channel_failed", "telegram"), ("sent", "sms")]
        assert detail.timeline[0].text == "on telegram (fallback order: telegram, sms, email)"
    finally:
        await services.close()


async def test_the_order_exhausted_fails_once_with_the_last_reason(
    database_url: str, clock: FakeClock
) -> None:
    refused = PermanentSendError("Twilio 400 error 21614: not a mobile number", code="21614")
    channels = Channels(telegram=[BLOCKED], sms=[refused])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, quiet_hours={})
        made = await fire(services, channel=None, channels=["telegram", "sms"], contact=EVERYWHERE)
        for _ in range(3):
            await services.outbox.send_due()
        failed = await invitation(services, made.invitation.id)
        assert (failed.status, failed.channel) == ("failed", "sms")
        assert failed.last_error == "sms: Twilio 400 error 21614: not a mobile number"
        assert await failures(services, made.invitation.id) == [
            ("telegram", "refused", "403"),
            ("sms", "refused", "21614"),
        ]
        assert channels.sent("email") == []  # not in the trigger's order
        assert await events(services, "invitation.failed") == [made.invitation.id]
        counted = await funnel(services)
        assert (counted["failed"], counted["sent"], counted["fell_back"]) == (1, 0, 0)
        assert counted["channel_failures"] == {
            "telegram": {"refused": 1},
            "sms": {"refused": 1},
        }
    finally:
        await services.close()


async def test_channels_without_an_address_or_opted_out_are_passed_over(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=ORDER, quiet_hours={})
        no_phone = {k: v for k, v in EVERYWHERE.items() if k != "phone"}
        first = await fire(services, channel=None, contact=no_phone)
        await services.outbox.send_due()
        await services.outbox.send_due()
        assert (await invitation(services, first.invitation.id)).channel == "email"
        assert len(channels.sent("email")) == 1

        opted = {**EVERYWHERE, "external_id": "p2", "telegram_chat_id": "77"}
        second = await fire(services, channel=None, contact=opted)
        async with UnitOfWork(services.sessions) as uow:
            await uow.opt_outs.add(second.invitation.contact_id, "sms", source="keyword")
            await uow.commit()
        channels.by_name["telegram"].script = [BLOCKED]
        await services.outbox.send_due()
        await services.outbox.send_due()
        assert (await invitation(services, second.invitation.id)).channel == "email"
        assert channels.sent("sms") == []
        # Passed over, not tried: only the channel that refused is a failure.
        assert await failures(services, second.invitation.id) == [("telegram", "refused", "403")]
    finally:
        await services.close()


async def test_the_next_channel_waits_for_its_own_quiet_hours(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        clock.now = clock.now.replace(hour=22)  # telegram may send at night here, sms not
        await add_survey(services, channels=ORDER, quiet_hours={"sms": ["09:00", "20:00"]})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        moved = await invitation(services, made.invitation.id)
        assert moved.channel == "sms"
        assert moved.send_at == clock.now.replace(day=clock.now.day + 1, hour=9)
        assert await services.outbox.send_due() == 0
        clock.advance(hours=11)
        assert await services.outbox.send_due() == 1
        assert len(channels.sent("sms")) == 1
    finally:
        await services.close()


async def test_retries_run_out_then_the_next_channel(database_url: str, clock: FakeClock) -> None:
    down = TransientSendError("Telegram: Bad Gateway", code="502")
    channels = Channels(telegram=[down, down])
    services = await started(database_url, clock, channels, max_send_attempts=2)
    try:
        await add_survey(services, channels=ORDER, quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        clock.advance(seconds=10)
        await services.outbox.send_due()  # the second attempt: gave up, on to SMS
        await services.outbox.send_due()
        sent = await invitation(services, made.invitation.id)
        assert (sent.status, sent.channel) == ("sent", "sms")
        assert await failures(services, made.invitation.id) == [("telegram", "gave_up", "502")]
    finally:
        await services.close()


async def test_an_opt_out_since_the_trigger_moves_on_or_cancels_at_the_end(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels()
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=["telegram", "sms"], quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        async with UnitOfWork(services.sessions) as uow:
            for channel in ("telegram", "sms"):
                await uow.opt_outs.add(made.invitation.contact_id, channel, source="keyword")
            await uow.commit()
        await services.outbox.send_due()
        cancelled = await invitation(services, made.invitation.id)
        assert (cancelled.status, cancelled.skip_reason) == ("cancelled", "opted_out")
        assert channels.sent("telegram") == channels.sent("sms") == []
        assert await failures(services, made.invitation.id) == [("telegram", "opted_out", None)]
    finally:
        await services.close()


async def test_an_undelivered_sms_falls_back_to_email(database_url: str, clock: FakeClock) -> None:
    channels = Channels()
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=["sms", "email"], quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        sent = await invitation(services, made.invitation.id)
        assert (sent.status, sent.channel) == ("sent", "sms")
        clock.advance(minutes=1)
        assert await record_status(services, sent.provider_message_id or "", "undelivered", 30003)
        moved = await invitation(services, made.invitation.id)
        assert (moved.status, moved.channel, moved.sent_at, moved.remind_at) == (
            "scheduled",
            "email",
            None,
            None,
        )
        await services.outbox.send_due()
        reached = await invitation(services, made.invitation.id)
        assert (reached.status, reached.channel, reached.delivery_status) == ("sent", "email", None)
        assert await failures(services, made.invitation.id) == [("sms", "undelivered", "30003")]
        async with UnitOfWork(services.sessions) as uow:
            detail = await invitation_detail(uow, made.invitation.id)
        steps = [(e.event, e.channel) for e in detail.timeline]
        assert steps == [
            ("created", None),
            ("sent", "sms"),
            ("channel_failed", "sms"),
            ("sent", "email"),
        ]
        assert await events(services, "invitation.failed") == []
    finally:
        await services.close()


async def test_without_an_order_a_refusal_fails_as_before(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)  # the best: telegram
        assert made.invitation.channels is None
        await services.outbox.send_due()
        failed = await invitation(services, made.invitation.id)
        assert (failed.status, failed.channel) == ("failed", "telegram")
        assert failed.last_error == "Telegram: Forbidden: bot was blocked by the user"
        assert channels.sent("sms") == []
        assert await failures(services, made.invitation.id) == [("telegram", "refused", "403")]
    finally:
        await services.close()


async def test_a_reminder_on_the_next_channel_and_an_answer_on_the_first(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels()
    services = await started(database_url, clock, channels)
    try:
        await add_survey(
            services,
            channels=["sms", "email"],
            quiet_hours={},
            reminders={"count": 2, "channel": "next"},
            remind_after_hours=24,
        )
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        sent = await invitation(services, made.invitation.id)
        assert (sent.channel, sent.remind_on) == ("sms", "email")
        clock.advance(hours=24)
        assert await services.outbox.send_due() == 1
        [reminder] = channels.by_name["email"].sent
        assert reminder.text.startswith("A quick reminder") and reminder.channel == "email"
        moved = await invitation(services, made.invitation.id)
        # The conversation moved to email; the second reminder goes where it is now.
        assert (moved.channel, moved.remind_on, moved.reminders_sent) == ("email", None, 1)
        # The customer answers the first message, on SMS: it answers this invitation.
        reply = await services.conversation.handle(
            InboundMessage(
                channel="sms",
                address=EVERYWHERE["phone"],
                text="4",
                provider_message_id="SMin1",
                received_at=clock(),
            )
        )
        assert reply.invitation_id == made.invitation.id
        answered = await invitation(services, made.invitation.id)
        assert answered.status == "answered"
        clock.advance(hours=48)
        assert await services.outbox.send_due() == 0  # answered: no second reminder anywhere
        async with UnitOfWork(services.sessions) as uow:
            stored = await uow.responses.for_invitation(made.invitation.id)
        assert stored is not None and stored.score == 4
    finally:
        await services.close()


async def test_a_reminder_whose_channel_fails_goes_where_the_conversation_is(
    database_url: str, clock: FakeClock
) -> None:
    bounced = PermanentSendError("smtp.example.com refused the message (550 5.1.1)", code="550")
    channels = Channels(email=[bounced])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(
            services, channels=["sms", "email"], quiet_hours={}, reminders={"channel": "next"}
        )
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        clock.advance(hours=48)
        await services.outbox.send_due()  # email bounces the reminder
        passed = await invitation(services, made.invitation.id)
        assert (passed.channel, passed.remind_on, passed.reminders_sent) == ("sms", None, 0)
        await services.outbox.send_due()  # on SMS, the conversation's own channel
        _question, reminder = channels.sent("sms")
        assert reminder.startswith("A quick reminder")
        reminded = await invitation(services, made.invitation.id)
        assert (reminded.channel, reminded.reminders_sent, reminded.status) == ("sms", 1, "sent")
        assert await failures(services, made.invitation.id) == [("email", "refused", "550")]
        counted = await funnel(services)
        assert counted["channel_failures"] == {}  # reminders are not the question's fallbacks
    finally:
        await services.close()


async def test_the_web_chat_last_in_an_order_takes_over_behind_its_link(
    database_url: str, clock: FakeClock
) -> None:
    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, quiet_hours={})
        made = await fire(services, channel=None, channels=["telegram", "web"], contact=EVERYWHERE)
        await services.outbox.send_due()
        await services.outbox.send_due()
        reached = await invitation(services, made.invitation.id)
        assert (reached.status, reached.channel, reached.remind_at) == ("sent", "web", None)
    finally:
        await services.close()


async def test_a_campaign_follows_the_survey_order_without_the_web_chat(
    database_url: str, clock: FakeClock
) -> None:
    from bot.campaigns.management import Campaigns
    from surveys.campaigns import CampaignSpec

    invalid = PermanentSendError("Twilio 400 error 21211: invalid", code="21211")
    channels = Channels(sms=[invalid, invalid])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=["sms", "email", "web"], quiet_hours={})
        async with UnitOfWork(services.sessions) as uow:
            await uow.contacts.upsert(
                "p1", {"phone": EVERYWHERE["phone"], "email": EVERYWHERE["email"]}, {}
            )
            await uow.contacts.upsert("p2", {"phone": "+14155550199"}, {})
            await uow.commit()
        campaigns = Campaigns(
            sessions=services.sessions,
            clock=clock,
            channels=services.catalog,
            suppression=services.suppression,
        )
        spec = {"name": "everyone", "survey": "support-csat", "cron": "0 9 1 * *"}
        await campaigns.create(CampaignSpec.model_validate(spec))
        run = await campaigns.run_now("everyone")
        await campaigns.execute_run(run.id or 0)
        for _ in range(3):
            await services.outbox.send_due()
        async with UnitOfWork(services.sessions) as uow:
            rows = await uow.session.execute(
                select(Invitation, Contact.external_id)
                .join(Contact, Contact.id == Invitation.contact_id)
                .where(Invitation.campaign_run_id == run.id)
            )
            made = {external_id: row for row, external_id in rows.all()}
        assert made["p1"].channels == ["sms", "email"]  # nobody would hold the web chat's link
        assert (made["p1"].status, made["p1"].channel) == ("sent", "email")
        assert (made["p2"].status, made["p2"].channel) == ("failed", "sms")  # no email: the end
    finally:
        await services.close()


async def test_failed_channels_are_exported_and_their_errors_erased(
    database_url: str, clock: FakeClock
) -> None:
    from bot.privacy.erase import erase_contact
    from bot.privacy.export import export_contact
    from bot.wiring import registry

    channels = Channels(telegram=[BLOCKED])
    services = await started(database_url, clock, channels)
    try:
        await add_survey(services, channels=ORDER, quiet_hours={})
        made = await fire(services, channel=None, contact=EVERYWHERE)
        await services.outbox.send_due()
        async with UnitOfWork(services.sessions) as uow:
            exported = await export_contact(uow, "p1", now=clock())
        [failure] = exported.channel_failures
        assert (failure.invitation_id, failure.channel, failure.reason) == (
            made.invitation.id,
            "telegram",
            "refused",
        )
        assert exported.invitations[0].channels == ORDER
        async with UnitOfWork(services.sessions) as uow:
            await erase_contact(
                uow,
                "p1",
                suppression=services.suppression,
                channels=registry.infos(),
                now=clock(),
            )
            await uow.commit()
        async with UnitOfWork(services.sessions) as uow:
            [kept] = await uow.failures.of_invitation(made.invitation.id)
        assert (kept.channel, kept.reason, kept.code, kept.error) == (
            "telegram",
            "refused",
            "403",
            None,
        )
    finally:
        await services.close()
