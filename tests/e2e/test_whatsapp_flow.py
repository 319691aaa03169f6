"""End to end: `surveybot serve` asks on WhatsApp through twilio's client (a template first,
then quick replies and free text in the session); signed webhooks answer it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, running_server
from tests.standins.twilio_api import (
    Attempt,
    TwilioStandIn,
    inbound_whatsapp,
    sign,
    status_callback,
)

ACCOUNT = "AC" + "fedcba9876543210" * 2
TOKEN = "e2e-twilio-auth-token"
SENDER = "+15005550006"
PHONE = "+14155550123"
WA_PHONE = f"whatsapp:{PHONE}"
# Not where the server listens: the signature must be checked against this public URL.
PUBLIC = "https://surveys.example.com"
INBOUND = "/webhooks/twilio/whatsapp"
STATUS = "/webhooks/twilio/whatsapp/status"

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How did {{agent}} do?"
    throttle_days: 0
    quiet_hours: {{}}  # the test runs at any hour of the real clock
    whatsapp:
      templates:
        en: {{content_sid: {sid}, variables: {{"1": "{{name}}", "2": "{{agent}}"}}}}
  - key: quick
    metric: csat
    scale: [1, 3]
    question: "Was it easy?"
    throttle_days: 0
    quiet_hours: {{}}
    whatsapp:
      templates:
        en: {{content_sid: {sid}, variables: {{"1": "{{name}}", "2": "{{agent}}"}}}}
  - key: no-template
    metric: nps
    throttle_days: 0
    quiet_hours: {{}}
"""


class Customer:
    """The customer's phone on WhatsApp, and the API a help desk calls."""

    def __init__(self, server: Server, twilio: TwilioStandIn, key: str) -> None:
        self.server, self.twilio = server, twilio
        self.auth = {"Authorization": f"Bearer {key}"}

    def post_signed(self, path: str, form: dict[str, str], signed_url: str | None = None) -> int:
        headers = {"X-Twilio-Signature": sign(TOKEN, signed_url or PUBLIC + path, form)}
        answer = httpx.post(f"{self.server.url}{path}", data=form, headers=headers, timeout=10)
        return answer.status_code

    def write(
        self, body: str, *, button: str | None = None, sid: str | None = None, replies: int = 1
    ) -> list[Attempt]:
        """Write (or tap a button); the replies that follow through the API (sent after the
        webhook's answer, so waited for), exactly `replies` of them."""
        self.twilio.customer_wrote(WA_PHONE)
        before = len(self.twilio.sent)
        form = inbound_whatsapp(
            account_sid=ACCOUNT, from_=PHONE, to=SENDER, body=body, button_payload=button, sid=sid
        )
        assert self.post_signed(INBOUND, form) == 200
        if replies:
            self.twilio.wait_for_sent(before + replies, timeout=10)
        time.sleep(0.3)  # and nothing more comes
        sent = self.twilio.sent[before:]
        assert len(sent) == replies, sent
        return sent

    def trigger(self, survey: str, external_id: str = "cust-7", **contact: Any) -> str:
        answer = httpx.post(
            f"{self.server.url}/api/v1/triggers",
            headers=self.auth,
            json={
                "survey": survey,
                "channel": "whatsapp",
                "contact": {"external_id": external_id, "locale": "en", **contact},
                "properties": {"agent": "Ana"},
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        invitation_id: str = answer.json()["invitation_id"]
        return invitation_id

    def invitation(self, invitation_id: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.server.url}/api/v1/invitations/{invitation_id}", headers=self.auth, timeout=10
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def until(self, invitation_id: str, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + 15
        while (found := self.invitation(invitation_id))["status"] != status:
            assert time.monotonic() < deadline, found
            time.sleep(0.1)
        return found

    def responses(self, survey: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.server.url}/api/v1/responses",
            params={"survey": survey},
            headers=self.auth,
            timeout=10,
        )
        data: list[dict[str, Any]] = answer.json()["data"]
        return data


def serve(tmp_path: Path, twilio: TwilioStandIn, **more: str) -> Any:
    """`surveybot serve` with WhatsApp on (and `more` settings); the stand-in must be running."""
    env = {
        "SURVEYBOT_TWILIO_ACCOUNT_SID": ACCOUNT,
        "SURVEYBOT_TWILIO_AUTH_TOKEN": TOKEN,
        "SURVEYBOT_WHATSAPP_FROM": SENDER,
        "SURVEYBOT_TWILIO_API_BASE": twilio.url,
        "SURVEYBOT_PUBLIC_URL": PUBLIC,
        **more,
    }
    return running_server(tmp_path, env)


@pytest.mark.e2e
def test_template_first_then_typed_answers_buttons_and_statuses(tmp_path: Path) -> None:
    twilio = TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN)
    with twilio.in_thread():
        sid = twilio.approve_template("Hi {{1}}, {{2}} helped you today. How did we do? (1-5)")
        with serve(tmp_path, twilio) as server:
            customer = Customer(
                server, twilio, server.load_and_key(SURVEYS.format(sid=sid), tmp_path)
            )
            asked = customer.trigger("support-csat", phone=PHONE, name="Zoë")

            # Nobody wrote in the last 24 hours: the approved template opens the conversation.
            [question] = twilio.wait_for_sent(1, timeout=15)
            assert (question.to, question.fields["From"]) == (WA_PHONE, f"whatsapp:{SENDER}")
            assert question.content_sid == sid and "Body" not in question.fields
            assert question.shown == "Hi Zoë, Ana helped you today. How did we do? (1-5)"
            assert question.status_callback == f"{PUBLIC}{STATUS}"

            # Signed over the loopback address the server listens on: refused, no effect.
            form = inbound_whatsapp(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="1")
            assert customer.post_signed(INBOUND, form, f"{server.url}{INBOUND}") == 403

            # A typed answer, then the same message redelivered: stored once, answered once.
            [follow_up] = customer.write("4", sid="SM" + "4" * 32)
            customer.write("4", sid="SM" + "4" * 32, replies=0)
            assert follow_up.shown == "Great to hear! What did we do well?"
            assert follow_up.buttons == (("Skip", "Skip"),)  # a quick reply in the session

            # Tapping Skip answers with the button's payload.
            [thanks] = customer.write("Skip", button="Skip")
            assert thanks.body == "Thanks so much! We're glad we could help."
            [answer] = customer.responses("support-csat")
            assert (answer["score"], answer["comment"], answer["channel"]) == (4, None, "whatsapp")

            # Statuses only move forward; read is kept.
            for status in ("delivered", "read", "sent"):
                form = status_callback(
                    account_sid=ACCOUNT,
                    sid=question.sid or "",
                    status=status,
                    to=WA_PHONE,
                    from_=f"whatsapp:{SENDER}",
                )
                assert customer.post_signed(STATUS, form) == 204
            assert customer.invitation(asked)["delivery_status"] == "read"

            # Inside the window a 1-3 scale is three buttons, and a tap is the score.
            quick = customer.trigger("quick", phone=PHONE, name="Zoë")
            [*_, buttons] = twilio.wait_for_sent(4, timeout=15)
            assert buttons.shown == "Was it easy?" and buttons.content_sid != sid
            assert buttons.buttons == (("1", "1"), ("2", "2"), ("3", "3"))
            customer.write("3", button="3")
            customer.until(quick, "answered")
            [easy] = customer.responses("quick")
            assert easy["score"] == 3


@pytest.mark.e2e
def test_stop_opts_out_and_no_template_fails_with_its_reason(tmp_path: Path) -> None:
    twilio = TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN)
    with twilio.in_thread():
        sid = twilio.approve_template("Hi {{1}}, {{2}} helped you today. How did we do? (1-5)")
        with serve(tmp_path, twilio) as server:
            customer = Customer(
                server, twilio, server.load_and_key(SURVEYS.format(sid=sid), tmp_path)
            )

            # A survey without templates to someone who never wrote: nothing can go.
            bare = customer.trigger("no-template", external_id="cust-8", phone="+14155550199")
            failed = customer.until(bare, "failed")
            assert failed["last_error"] == (
                "no WhatsApp template for locale en in survey no-template, and the customer has"
                " not written on WhatsApp in the last 24 hours"
            )
            assert twilio.attempts == []

            asked = customer.trigger("support-csat", phone=PHONE, name="Zoë")
            twilio.wait_for_sent(1, timeout=15)
            [confirmation] = customer.write("STOP")
            assert confirmation.body == (
                "You won't get any more surveys here. Reply START to opt back in."
            )
            assert customer.invitation(asked)["status"] == "closed"
            skipped = customer.invitation(customer.trigger("support-csat", phone=PHONE))
            assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "opted_out")


FALLBACK_SURVEYS = """\
surveys:
  - key: renewal-nps
    metric: nps
    question: "How likely are you to recommend us?"
    throttle_days: 0
    quiet_hours: {}
    channels: [whatsapp, sms]
"""


@pytest.mark.e2e
def test_without_a_template_outside_the_window_the_order_moves_on_to_sms(
    tmp_path: Path,
) -> None:
    """WhatsApp and SMS share the account: a survey with no template for someone who never
    wrote on WhatsApp cannot go there, so its fallback order sends the same invitation by SMS."""
    twilio = TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN)
    with twilio.in_thread(), serve(tmp_path, twilio, SURVEYBOT_TWILIO_FROM_NUMBER=SENDER) as server:
        customer = Customer(server, twilio, server.load_and_key(FALLBACK_SURVEYS, tmp_path))
        answer = httpx.post(
            f"{server.url}/api/v1/triggers",
            headers=customer.auth,
            json={
                "survey": "renewal-nps",
                "contact": {"external_id": "cust-9", "phone": PHONE, "locale": "en"},
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["channel"] == "whatsapp"  # the first of the order reaches them
        invitation_id = answer.json()["invitation_id"]

        [question] = twilio.wait_for_sent(1, timeout=15)
        assert question.to == PHONE  # an SMS, not "whatsapp:+…"
        assert question.body.startswith("How likely are you to recommend us?")
        detail = customer.until(invitation_id, "sent")
        assert (detail["channel"], detail["channels"]) == ("sms", ["whatsapp", "sms"])
        [failure] = detail["failures"]
        assert failure["channel"] == "whatsapp"
        assert "no WhatsApp template for locale en" in failure["error"]
        assert [a.to for a in twilio.attempts] == [PHONE]  # nothing was tried on WhatsApp
