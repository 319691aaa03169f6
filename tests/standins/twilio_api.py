"""A loopback stand-in for Twilio's Messages endpoint, plus webhooks signed the way Twilio signs them.

The twilio client posts `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth
(account SID, auth token) and form fields `To`, `From` or `MessagingServiceSid`, `Body`,
`StatusCallback`; the answer is 201 with the Message resource as JSON, or an error JSON
`{"code", "message", "more_info", "status"}`. Run it in the test's event loop
(`async with TwilioStandIn(...)`) or, for a test that blocks, on its own thread (`in_thread()`).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

from channels.sms import segments
from tests.standins.serving import LoopbackServer

API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class Attempt:
    """One Messages.json request: its form fields and the HTTP status answered."""

    account_sid: str
    fields: dict[str, str]
    status: int
    sid: str | None = None

    @property
    def to(self) -> str:
        return self.fields.get("To", "")

    @property
    def body(self) -> str:
        return self.fields.get("Body", "")

    @property
    def status_callback(self) -> str | None:
        return self.fields.get("StatusCallback")


@dataclass(frozen=True)
class Failure:
    """An error answer to queue: HTTP status, Twilio's error JSON, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def twilio_error(code: int, status: int = 400, message: str | None = None) -> Failure:
    """Twilio's error JSON, e.g. twilio_error(21610) for an opted-out recipient."""
    return Failure(
        status,
        {
            "code": code,
            "message": message or f"Twilio error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def too_many_requests(retry_after: int | None = None) -> Failure:
    failure = twilio_error(20429, 429, "Too Many Requests")
    if retry_after is not None:
        failure.headers["Retry-After"] = str(retry_after)
    return failure


def server_error() -> Failure:
    return twilio_error(20500, 500, "An internal server error has occurred")


class TwilioStandIn(LoopbackServer):
    """The Messages endpoint on 127.0.0.1 and a free port, for one account."""

    thread_name = "twilio-standin"

    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._attempts: list[Attempt] = []
        self._failures: list[Failure] = []
        self._lock = threading.Lock()  # a test on another thread reads and queues while we serve
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", self._create)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # What tests arrange and read.

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with these errors, in order."""
        with self._lock:
            self._failures.extend(failures)

    @property
    def attempts(self) -> list[Attempt]:
        """Every request, accepted or not."""
        with self._lock:
            return list(self._attempts)

    @property
    def sent(self) -> list[Attempt]:
        """The messages accepted (201)."""
        return [a for a in self.attempts if a.status == 201]

    def wait_for_sent(self, count: int = 1, timeout: float = 10.0) -> list[Attempt]:
        """Block until `count` messages were accepted (for tests on another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent
            if len(sent) >= count:
                return sent
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(sent)} of {count} messages after {timeout} s")
            time.sleep(0.02)

    # The server side.

    async def _create(self, request: web.Request) -> web.Response:
        account = request.match_info["sid"]
        fields = {k: str(v) for k, v in (await request.post()).items()}
        if not self._authorized(request, account):
            return self._answer(account, fields, twilio_error(20003, 401, "Authenticate"))
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is None:
            failure = _invalid(fields)
        if failure is not None:
            return self._answer(account, fields, failure)
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self._attempts.append(Attempt(account, fields, 201, sid))
        return web.json_response(self._message(account, sid, fields), status=201)

    def _answer(self, account: str, fields: dict[str, str], failure: Failure) -> web.Response:
        with self._lock:
            self._attempts.append(Attempt(account, fields, failure.status))
        return web.json_response(failure.body, status=failure.status, headers=failure.headers)

    def _authorized(self, request: web.Request, account: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account == self.account_sid and (
            request.headers.get("Authorization") == f"Basic {expected}"
        )

    @staticmethod
    def _message(account: str, sid: str, fields: dict[str, str]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}"
        return {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": fields["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": fields.get("From"),
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(segments(fields["Body"])),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if "MessagingServiceSid" in fields else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": fields["To"],
            "uri": f"{uri}.json",
        }


def _invalid(fields: Mapping[str, str]) -> Failure | None:
    if not fields.get("To"):
        return twilio_error(21604, message="A 'To' phone number is required.")
    if not fields.get("From") and not fields.get("MessagingServiceSid"):
        return twilio_error(21603, message="A 'From' phone number is required.")
    if not fields.get("Body"):
        return twilio_error(21602, message="Message body is required.")
    return None


# The webhooks Twilio posts to surveybot.


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a POST of `params` to `url` (the public URL Twilio called)."""
    signature: str = RequestValidator(auth_token).compute_signature(url, dict(params))
    return signature


def inbound_sms(
    *, account_sid: str, from_: str, to: str, body: str, sid: str | None = None
) -> dict[str, str]:
    """The form Twilio posts to the messaging webhook when a text arrives."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": str(segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def status_callback(
    *, account_sid: str, sid: str, status: str, to: str, from_: str, error_code: int | None = None
) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback."""
    form = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form
