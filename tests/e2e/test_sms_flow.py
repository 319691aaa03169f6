"""End to end: `surveybot serve` sends an SMS survey through twilio's client; signed webhooks answer it."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.e2e.conftest import Server, running_server
from tests.standins.twilio_api import TwilioStandIn, inbound_sms, sign, status_callback

ACCOUNT = "AC" + "fedcba9876543210" * 2
TOKEN = "e2e-twilio-auth-token"
SENDER = "+15005550006"
PHONE = "+14155550123"
# Not where the server listens: the signature must be checked against this public URL.
PUBLIC = "https://surveys.example.com"

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How did {agent} do on ticket {ticket_id}?"
    quiet_hours: {}  # the test runs at any hour of the real clock
"""


def post_signed(server: Server, path: str, form: dict[str, str], signed_url: str) -> httpx.Response:
    """POST as Twilio does: form-encoded, signed over the URL Twilio was told to call."""
    headers = {"X-Twilio-Signature": sign(TOKEN, signed_url, form)}
    return httpx.post(f"{server.url}{path}", data=form, headers=headers, timeout=10)


def text(server: Server, body: str) -> list[str]:
    form = inbound_sms(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body=body)
    reply = post_signed(server, "/webhooks/twilio/sms", form, f"{PUBLIC}/webhooks/twilio/sms")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/xml")
    return [m.text or "" for m in ElementTree.fromstring(reply.text).findall("Message")]


@pytest.mark.e2e
def test_sms_survey_to_stored_response(tmp_path: Path) -> None:
    twilio = TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN)
    with twilio.in_thread():
        env = {
            "SURVEYBOT_TWILIO_ACCOUNT_SID": ACCOUNT,
            "SURVEYBOT_TWILIO_AUTH_TOKEN": TOKEN,
            "SURVEYBOT_TWILIO_FROM_NUMBER": SENDER,
            "SURVEYBOT_TWILIO_API_BASE": twilio.url,
            "SURVEYBOT_PUBLIC_URL": PUBLIC,
        }
        with running_server(tmp_path, env) as server:
            key = server.load_and_key(SURVEYS, tmp_path)
            auth = {"Authorization": f"Bearer {key}"}
            triggered = httpx.post(
                f"{server.url}/api/v1/triggers",
                headers=auth,
                json={
                    "survey": "support-csat",
                    "channel": "sms",
                    "contact": {"external_id": "cust-7", "phone": PHONE, "locale": "en"},
                    "properties": {"agent": "Ana", "ticket_id": "T-1001"},
                },
                timeout=10,
            )
            assert triggered.status_code == 202, triggered.text
            assert triggered.json()["status"] == "scheduled"

            [question] = twilio.wait_for_sent(1, timeout=15)
            assert (question.to, question.fields["From"]) == (PHONE, SENDER)
            assert question.body == (
                "How did Ana do on ticket T-1001?\nReply with a number from 1 to 5."
            )
            assert question.status_callback == f"{PUBLIC}/webhooks/twilio/status"

            # Signed over the loopback address the server listens on: refused, no effect.
            form = inbound_sms(account_sid=ACCOUNT, from_=PHONE, to=SENDER, body="1")
            loopback = f"{server.url}/webhooks/twilio/sms"
            assert post_signed(server, "/webhooks/twilio/sms", form, loopback).status_code == 403

            assert text(server, "4") == ["Great to hear! What did we do well? (or reply SKIP)"]
            assert text(server, "Fast and friendly.") == [
                "Thanks so much! We're glad we could help."
            ]
            delivered = status_callback(
                account_sid=ACCOUNT,
                sid=question.sid or "",
                status="delivered",
                to=PHONE,
                from_=SENDER,
            )
            status_url = f"{PUBLIC}/webhooks/twilio/status"
            assert (
                post_signed(server, "/webhooks/twilio/status", delivered, status_url).status_code
                == 204
            )

            stored = httpx.get(
                f"{server.url}/api/v1/responses",
                params={"survey": "support-csat"},
                headers=auth,
                timeout=10,
            ).json()
            assert stored["count"] == 1
            [answer] = stored["data"]
            assert (answer["score"], answer["comment"], answer["channel"]) == (
                4,
                "Fast and friendly.",
                "sms",
            )
            assert answer["contact"] == "cust-7" and answer["properties"]["agent"] == "Ana"
            assert len(twilio.attempts) == 1  # replies went back as TwiML, not through the API
