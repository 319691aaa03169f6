"""A loopback stand-in for Twilio's Messages and Content endpoints, plus signed webhooks.

The twilio client posts `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth
(account SID, auth token) and form fields `To`, `From` or `MessagingServiceSid`, `Body` or
`ContentSid` and `ContentVariables`, `StatusCallback`; the answer is 201 with the Message
resource as JSON, or an error JSON `{"code", "message", "more_info", "status"}`.

WhatsApp (`To`/`From` = `whatsapp:+…`) is held to its rules: free text, quick replies included,
only to a number that wrote within the session (`customer_wrote`), else error 63016; a template
(`approve_template`) any time, its `{{n}}` filled from `ContentVariables`. Quick replies are
created as Twilio's Content API creates them (`POST /v1/Content`, JSON with `twilio/quick-reply`).

Run it in the test's event loop (`async with TwilioStandIn(...)`) or, for a test that blocks, on
its own thread (`in_thread()`).
"""

from __future__ import annotations

import base64
import json
import re
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
    shown: str = ""  # what the customer saw: the Body, or the content's text filled in
    buttons: tuple[tuple[str, str], ...] = ()  # quick-reply (title, id) pairs shown

    @property
    def to(self) -> str:
        return self.fields.get("To", "")

    @property
    def body(self) -> str:
        return self.fields.get("Body", "")

    @property
    def content_sid(self) -> str | None:
        return self.fields.get("ContentSid")

    @property
    def content_variables(self) -> dict[str, str]:
        return dict(json.loads(self.fields.get("ContentVariables") or "{}"))

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
        # Content SID → (text with {{n}} variables, quick-reply buttons, approved for templates).
        self.contents: dict[str, Content] = {}
        self._sessions: set[str] = set()  # whatsapp: addresses inside their 24-hour window

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", self._create)
        app.router.add_post("/v1/Content", self._create_content)
        app.router.add_get("/v1/Content", self._list_contents)
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

    def approve_template(self, text: str, buttons: tuple[tuple[str, str], ...] = ()) -> str:
        """An approved WhatsApp template with this text ("Hi {{1}}, …"); its Content SID."""
        if re.match(r"\s*\{\{", text) or re.search(r"\}\}\s*$", text):
            raise ValueError("WhatsApp refuses a template that starts or ends with a variable")
        sid = "HX" + uuid.uuid4().hex
        with self._lock:
            self.contents[sid] = Content(text, buttons, approved=True)
        return sid

    def customer_wrote(self, address: str) -> None:
        """The customer at `address` (whatsapp:+…) wrote: their 24-hour session is open."""
        with self._lock:
            self._sessions.add(address)

    def session_closed(self, address: str) -> None:
        """24 hours passed since the customer at `address` last wrote."""
        with self._lock:
            self._sessions.discard(address)

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
        shown, buttons = fields.get("Body", ""), ()
        if failure is None and fields.get("ContentSid"):
            with self._lock:
                content = self.contents.get(fields["ContentSid"])
            if content is None:
                failure = twilio_error(21655, message="The ContentSid is Invalid.")
            else:
                shown, buttons, failure = content.fill(fields.get("ContentVariables"))
        if failure is None:
            failure = self._whatsapp_rules(fields)
        if failure is not None:
            return self._answer(account, fields, failure)
        sid = ("MM" if fields["To"].startswith(WHATSAPP) else "SM") + uuid.uuid4().hex
        with self._lock:
            self._attempts.append(Attempt(account, fields, 201, sid, shown, buttons))
        return web.json_response(self._message(account, sid, fields, shown), status=201)

    def _whatsapp_rules(self, fields: Mapping[str, str]) -> Failure | None:
        """WhatsApp's rules: addresses on both ends, free text only within the session."""
        to, sender = fields["To"], fields.get("From", "")
        if to.startswith(WHATSAPP) != sender.startswith(WHATSAPP):
            return twilio_error(
                63007, message="Twilio could not find a Channel with the From address"
            )
        if not to.startswith(WHATSAPP):
            return None
        with self._lock:
            content = self.contents.get(fields.get("ContentSid") or "")
            open_session = to in self._sessions
        if open_session or (content is not None and content.approved):
            return None
        return twilio_error(
            63016,
            message="Failed to send freeform message because you are outside the allowed window.",
        )

    async def _list_contents(self, request: web.Request) -> web.Response:
        """The account's contents, on one page (Twilio's list format)."""
        if not self._authorized(request, self.account_sid):
            return web.json_response(twilio_error(20003, 401, "Authenticate").body, status=401)
        with self._lock:
            listed = [
                {"sid": sid, "account_sid": self.account_sid, "friendly_name": c.name or None}
                for sid, c in self.contents.items()
            ]
        url = f"{self.url}/v1/Content?PageSize=100&Page=0"
        meta = {"page": 0, "page_size": 100, "first_page_url": url, "previous_page_url": None}
        meta |= {"url": url, "next_page_url": None, "key": "contents"}
        return web.json_response({"contents": listed, "meta": meta})

    async def _create_content(self, request: web.Request) -> web.Response:
        """Twilio's Content API: a quick reply (not approved: usable in a session only)."""
        if not self._authorized(request, self.account_sid):
            return web.json_response(twilio_error(20003, 401, "Authenticate").body, status=401)
        payload = await request.json()
        types = payload.get("types") or {}
        quick = types.get("twilio/quick-reply") or {}
        actions = quick.get("actions") or []
        if not quick.get("body") or not 1 <= len(actions) <= 3:
            failure = twilio_error(21656, message="A quick reply needs a body and 1 to 3 actions")
            return web.json_response(failure.body, status=failure.status)
        buttons = tuple((str(a["title"]), str(a["id"])) for a in actions)
        if any(len(title) > 20 for title, _ in buttons):
            failure = twilio_error(21656, message="A button title is at most 20 characters")
            return web.json_response(failure.body, status=failure.status)
        sid = "HX" + uuid.uuid4().hex
        with self._lock:
            self.contents[sid] = Content(
                str(quick["body"]), buttons, approved=False, name=str(payload.get("friendly_name"))
            )
        answer = {"sid": sid, "account_sid": self.account_sid, "types": types}
        answer |= {
            "friendly_name": payload.get("friendly_name"),
            "language": payload.get("language"),
        }
        return web.json_response(answer, status=201)

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
    def _message(account: str, sid: str, fields: dict[str, str], shown: str) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}"
        return {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": shown,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": fields.get("From"),
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(segments(shown)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if "MessagingServiceSid" in fields else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": fields["To"],
            "uri": f"{uri}.json",
        }


WHATSAPP = "whatsapp:"


@dataclass(frozen=True)
class Content:
    """A content resource: a template approved for WhatsApp, or a session quick reply."""

    text: str
    buttons: tuple[tuple[str, str], ...]
    approved: bool
    name: str = ""  # its friendly name

    def fill(
        self, variables: str | None
    ) -> tuple[str, tuple[tuple[str, str], ...], Failure | None]:
        """The text with `{{n}}` filled from ContentVariables (JSON), or the error Twilio gives."""
        try:
            values = json.loads(variables) if variables else {}
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            failure = twilio_error(21656, message="The ContentVariables Parameter is invalid.")
            return "", (), failure
        missing = [n for n in re.findall(r"\{\{(\d+)\}\}", self.text) if not values.get(n)]
        if missing:
            failure = twilio_error(21656, message=f"ContentVariables misses {missing}")
            return "", (), failure
        text = re.sub(r"\{\{(\d+)\}\}", lambda m: str(values[m.group(1)]), self.text)
        return text, self.buttons, None


def _invalid(fields: Mapping[str, str]) -> Failure | None:
    if not fields.get("To"):
        return twilio_error(21604, message="A 'To' phone number is required.")
    if not fields.get("From") and not fields.get("MessagingServiceSid"):
        return twilio_error(21603, message="A 'From' phone number is required.")
    if not fields.get("Body") and not fields.get("ContentSid"):
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


def inbound_whatsapp(
    *,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    button_payload: str | None = None,
    sid: str | None = None,
) -> dict[str, str]:
    """The form Twilio posts when a WhatsApp message arrives; a tapped quick reply carries
    `ButtonPayload` (the button's id) and `ButtonText` (its title, also the Body)."""
    sid = sid or "SM" + uuid.uuid4().hex
    form = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": "Customer",
        "MessageType": "button" if button_payload is not None else "text",
        "SmsSid": sid,
        "WaId": from_.removeprefix(WHATSAPP).lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": WHATSAPP + to.removeprefix(WHATSAPP),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": WHATSAPP + from_.removeprefix(WHATSAPP),
        "ApiVersion": API_VERSION,
    }
    if button_payload is not None:
        form |= {"ButtonPayload": button_payload, "ButtonText": body}
    return form


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
