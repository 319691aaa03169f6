"""End to end: channel fallback through a real `surveybot serve` and the Telegram, Twilio and SMTP
stand-ins — a blocked bot falls back to SMS, an unreachable number to email and a hard bounce to
SMS, a reminder goes out on the next channel, and an answer on either channel closes the one
invitation."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from tests.e2e.conftest import Server, running_server
from tests.standins.smtp_server import SmtpStandIn, smtp_standin
from tests.standins.telegram_api import BotApiStandIn, press_update
from tests.standins.twilio_api import TwilioStandIn, inbound_sms, sign, status_callback

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "e2e-fallback-twilio-token"
SENDER = "+15005550006"
PHONE = "+14155550123"
CHAT = 5150
SECRET = "fallback-webhook-secret-0123"
PUBLIC = "https://surveys.example.com"  # what Twilio signs; the server listens on loopback
_ids = itertools.count(1)

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How did {agent} do?"
    quiet_hours: {}  # the test runs at any hour of the real clock
    channels: [telegram, sms, email]
  - key: reminded
    metric: csat
    question: "How did {agent} do?"
    quiet_hours: {}
    channels: [telegram, sms]
    reminders: {count: 2, channel: next}
    remind_after_hours: 0.001  # 3.6 s
"""


@contextmanager
def stand_ins() -> Iterator[tuple[BotApiStandIn, TwilioStandIn, SmtpStandIn]]:
    with ExitStack() as stack:
        bot_api = stack.enter_context(BotApiStandIn().in_thread())
        twilio = stack.enter_context(
            TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN).in_thread()
        )
        smtp = stack.enter_context(smtp_standin())
        yield bot_api, twilio, smtp


@contextmanager
def serving(
    tmp_path: Path,
) -> Iterator[tuple[Server, Api, BotApiStandIn, TwilioStandIn, SmtpStandIn]]:
    with stand_ins() as (bot_api, twilio, smtp):
        env = {
            "SURVEYBOT_TELEGRAM_BOT_TOKEN": "123456:TEST",
            "SURVEYBOT_TELEGRAM_API_BASE": bot_api.url,
            "SURVEYBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "SURVEYBOT_SECRET_KEY": "e2e-secret-key-0123456789",
            "SURVEYBOT_TWILIO_ACCOUNT_SID": ACCOUNT,
            "SURVEYBOT_TWILIO_AUTH_TOKEN": TOKEN,
            "SURVEYBOT_TWILIO_FROM_NUMBER": SENDER,
            "SURVEYBOT_TWILIO_API_BASE": twilio.url,
            "SURVEYBOT_PUBLIC_URL": PUBLIC,
            **smtp.settings(),
        }
        with running_server(tmp_path, env) as server:
            bot_api.wait_for("setWebhook")
            key = server.load_and_key(SURVEYS, tmp_path)
            yield server, Api(server, key), bot_api, twilio, smtp


class Api:
    """The HTTP API and the webhooks, as a caller, Telegram and Twilio use them."""

    def __init__(self, server: Server, key: str) -> None:
        self.server = server
        self.auth = {"Authorization": f"Bearer {key}"}

    def trigger(self, survey: str, contact: dict[str, Any], **body: Any) -> dict[str, Any]:
        reply = httpx.post(
            f"{self.server.url}/api/v1/triggers",
            headers=self.auth,
            json={"survey": survey, "contact": contact, "properties": {"agent": "Ana"}, **body},
            timeout=10,
        )
        assert reply.status_code == 202, reply.text
        return dict(reply.json())

    def get(self, path: str, **params: str) -> dict[str, Any]:
        reply = httpx.get(f"{self.server.url}{path}", headers=self.auth, params=params, timeout=10)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def invitation(self, invitation_id: str) -> dict[str, Any]:
        return self.get(f"/api/v1/invitations/{invitation_id}")

    def funnel(self, survey: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/surveys/{survey}/scores")["funnel"])

    def text(self, phone: str, body: str) -> list[str]:
        """An SMS from `phone`, through Twilio's signed webhook; what surveybot answers."""
        form = inbound_sms(account_sid=ACCOUNT, from_=phone, to=SENDER, body=body)
        reply = self._twilio("/webhooks/twilio/sms", form)
        assert reply.status_code == 200, reply.text
        return [m.text or "" for m in ElementTree.fromstring(reply.text).findall("Message")]

    def delivery(self, sid: str, status: str, error_code: int | None = None) -> None:
        form = status_callback(
            account_sid=ACCOUNT,
            sid=sid,
            status=status,
            to=PHONE,
            from_=SENDER,
            error_code=error_code,
        )
        assert self._twilio("/webhooks/twilio/status", form).status_code == 204

    def telegram(self, update: dict[str, Any]) -> None:
        reply = httpx.post(
            f"{self.server.url}/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text

    def _twilio(self, path: str, form: dict[str, str]) -> httpx.Response:
        headers = {"X-Twilio-Signature": sign(TOKEN, f"{PUBLIC}{path}", form)}
        return httpx.post(f"{self.server.url}{path}", data=form, headers=headers, timeout=10)


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)


@pytest.mark.e2e
def test_a_blocked_bot_falls_back_to_sms_and_the_funnel_tells(tmp_path: Path) -> None:
    with serving(tmp_path) as (_server, api, bot_api, twilio, _smtp):
        bot_api.fail(403, "Forbidden: bot was blocked by the user")
        contact = {"external_id": "cust-1", "telegram_chat_id": CHAT, "phone": PHONE}
        made = api.trigger("support-csat", contact)
        assert (made["status"], made["channel"], made["link"]) == ("scheduled", "telegram", None)

        [question] = twilio.wait_for_sent(1, timeout=15)
        assert (question.to, question.body) == (
            PHONE,
            "How did Ana do?\nReply with a number from 1 to 5.",
        )
        [refused] = bot_api.calls("sendMessage")
        assert (refused.status, refused.fields["chat_id"]) == (403, str(CHAT))

        assert api.text(PHONE, "4") == ["Great to hear! What did we do well? (or reply SKIP)"]
        assert api.text(PHONE, "Quick") == ["Thanks so much! We're glad we could help."]
        [answer] = api.get("/api/v1/responses", survey="support-csat")["data"]
        assert (answer["channel"], answer["score"], answer["comment"]) == ("sms", 4, "Quick")

        detail = api.invitation(made["invitation_id"])
        assert (detail["status"], detail["channel"], detail["channels"]) == (
            "completed",
            "sms",
            ["telegram", "sms", "email"],
        )
        [failure] = detail["failures"]
        assert (failure["channel"], failure["reason"], failure["code"]) == (
            "telegram",
            "refused",
            "403",
        )
        assert "blocked" in failure["error"]
        steps = [(e["event"], e["channel"]) for e in detail["timeline"]][:3]
        assert steps == [("created", None), ("channel_failed", "telegram"), ("sent", "sms")]

        funnel = api.funnel("support-csat")
        assert (funnel["sent"], funnel["failed"], funnel["fell_back"]) == (1, 0, 1)
        assert funnel["reached"] == {"sms": 1}
        assert funnel["channel_failures"] == {"telegram": {"refused": 1}}
        # The blocked chat is suppressed: the next trigger is decided on SMS (and throttled).
        again = api.trigger("support-csat", contact, idempotency_key="second")
        assert (again["status"], again["reason"], again["channel"]) == (
            "skipped",
            "throttled",
            "sms",
        )


@pytest.mark.e2e
def test_an_unreachable_number_falls_back_to_email_and_a_hard_bounce_to_sms(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as (_server, api, _bot_api, twilio, smtp):
        unreachable = {"external_id": "cust-2", "phone": PHONE, "email": "ana@example.com"}
        made = api.trigger("support-csat", unreachable)
        assert made["channel"] == "sms"  # no Telegram chat: passed over
        [question] = twilio.wait_for_sent(1, timeout=15)
        api.delivery(question.sid or "", "undelivered", 30003)  # Unreachable destination handset

        [mail] = smtp.wait_for(1, timeout=15)
        assert mail.message()["To"] == "ana@example.com"
        detail = api.invitation(made["invitation_id"])
        assert (detail["status"], detail["channel"], detail["delivery_status"]) == (
            "sent",
            "email",
            None,
        )
        assert [(f["channel"], f["reason"], f["code"]) for f in detail["failures"]] == [
            ("sms", "undelivered", "30003")
        ]

        smtp.refuse_next_rcpt(550)  # a hard bounce
        bounced = {"external_id": "cust-3", "phone": "+14155550199", "email": "gone@example.com"}
        made = api.trigger("support-csat", bounced, channels=["email", "sms"])
        assert made["channel"] == "email"
        eventually(lambda: len(twilio.sent) == 2)
        assert twilio.sent[-1].to == "+14155550199"
        detail = api.invitation(made["invitation_id"])
        assert (detail["status"], detail["channel"]) == ("sent", "sms")
        [failure] = detail["failures"]
        assert (failure["channel"], failure["reason"]) == ("email", "refused")
        assert len(smtp.messages) == 1

        funnel = api.funnel("support-csat")
        assert (funnel["sent"], funnel["fell_back"], funnel["failed"]) == (2, 2, 0)
        assert funnel["reached"] == {"email": 1, "sms": 1}
        assert funnel["channel_failures"] == {
            "sms": {"undelivered": 1},
            "email": {"refused": 1},
        }


@pytest.mark.e2e
def test_a_reminder_on_the_next_channel_and_one_answer_closes_both(tmp_path: Path) -> None:
    with serving(tmp_path) as (_server, api, bot_api, twilio, _smtp):
        contact = {"external_id": "cust-4", "telegram_chat_id": CHAT, "phone": PHONE}
        made = api.trigger("reminded", contact)
        assert made["channel"] == "telegram"
        [question] = bot_api.wait_for("sendMessage", 1)
        assert question.fields["text"].startswith("How did Ana do?")

        [reminder] = twilio.wait_for_sent(1, timeout=20)  # after 3.6 s, on SMS
        assert reminder.to == PHONE and reminder.body.startswith("A quick reminder")
        assert "How did Ana do?" in reminder.body
        moved = api.invitation(made["invitation_id"])
        assert (moved["status"], moved["channel"], moved["reminders_sent"]) == ("sent", "sms", 1)
        assert len(bot_api.calls("sendMessage")) == 1  # the reminder did not go to Telegram

        # The customer presses 4 on the Telegram question: it answers the one invitation.
        api.telegram(press_update(next(_ids), question, "4"))
        follow_up = bot_api.wait_for("sendMessage", 2)[-1]
        assert follow_up.fields["text"].startswith("Great to hear!")
        # …and comments by SMS, where the reminder went: the same conversation.
        assert api.text(PHONE, "Fast and kind") == ["Thanks so much! We're glad we could help."]

        time.sleep(5)  # the second reminder would have been due by now
        assert len(twilio.sent) == 1
        assert len(bot_api.calls("sendMessage")) == 2
        [answer] = api.get("/api/v1/responses", survey="reminded")["data"]
        assert (answer["score"], answer["comment"]) == (4, "Fast and kind")
        done = api.invitation(made["invitation_id"])
        assert (done["status"], done["step"]) == ("completed", "done")
        events = [(e["event"], e["channel"]) for e in done["timeline"]]
        assert ("sent", "telegram") in events and ("reminder", "sms") in events
        assert ("received", "telegram") in events and ("received", "sms") in events
        funnel = api.funnel("reminded")
        assert (funnel["triggered"], funnel["answered"], funnel["answered_after_reminder"]) == (
            1,
            1,
            1,
        )
