"""SMS through Twilio: the async REST client for sending, its error mapping, GSM-7 segment counts."""

from __future__ import annotations

import base64
import contextvars
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    degrade_to_text,
)
from channels.sms_codes import SUPPRESS_CODES, TRANSIENT_CODES

log = logging.getLogger("channels.sms")

SEND_TIMEOUT_SECONDS = 10.0

# The response to the request this task made last: twilio's exceptions drop the headers, and
# Retry-After is one. A context variable, because one client serves many concurrent sends.
_last_response: contextvars.ContextVar[TwilioResponse | None] = contextvars.ContextVar(
    "twilio_last_response", default=None
)


class _HttpClient(AsyncTwilioHttpClient):
    """twilio's aiohttp client, routed to a configured base, without auto-retries.

    It also sends a JSON body where twilio asks for one, Basic auth as a header (aiohttp
    deprecates its BasicAuth object), applies its timeout when twilio passes none, keeps request
    logging at DEBUG, and remembers each response. SMS and WhatsApp share it.
    """

    def __init__(self, *, api_base: str | None, timeout: float) -> None:
        # max_retries=None: no aiohttp_retry wrapper, so a message is never created twice by us.
        super().__init__(pool_connections=True, timeout=timeout, max_retries=None, logger=log)
        self._base = urlsplit(api_base.rstrip("/")) if api_base else None

    def route(self, url: str) -> str:
        """The URL rewritten onto the configured base (scheme, host and path prefix)."""
        if self._base is None:
            return url
        parts = urlsplit(url)
        return urlunsplit(
            (self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, "")
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's signature, passed on)
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        headers = dict(headers or {})
        if headers.get("Content-Type") == "application/json" and isinstance(data, dict):
            # twilio's sync client sends a JSON body here (the Content API); its async one
            # would form-encode the dict under a JSON content type.
            data = json.dumps(data)  # type: ignore[assignment]
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        response: TwilioResponse = await super().request(
            method,
            self.route(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )
        _last_response.set(response)
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        log.debug("twilio %s %s", kwargs["method"], kwargs["url"])

    def log_response(self, status_code: int, response: Any) -> None:
        log.debug("twilio answered %s", status_code)


class SmsChannel:
    """Sends SMS with twilio's async client (held, never subclassed); one client per process."""

    name = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        api_base: str | None = None,
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("SmsChannel needs a from_number or a messaging_service_sid")
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        self._status_callback = status_callback
        self._twilio = TwilioConnection(account_sid, auth_token, api_base=api_base, timeout=timeout)

    async def start(self) -> None:
        await self._twilio.start()

    async def close(self) -> None:
        await self._twilio.close()

    async def send(self, message: OutboundMessage) -> SendResult:
        client = self._twilio.client
        if client is None:
            raise TransientSendError("the SMS channel is not started")
        # A Messaging Service picks the sender from its pool; otherwise the one number sends.
        sender: dict[str, str] = (
            {"messaging_service_sid": self._messaging_service_sid}
            if self._messaging_service_sid
            else {"from_": self._from_number or ""}
        )
        sid = await create_message(
            client,
            to=message.address,
            body=degrade_to_text(message),
            status_callback=self._status_callback,
            **sender,
        )
        log.info("sms %s queued to %s", sid, mask_phone(message.address))
        return SendResult(provider_message_id=sid)


class TwilioConnection:
    """twilio's REST client on its aiohttp client: made in the running loop, closed once."""

    def __init__(
        self, account_sid: str, auth_token: str, *, api_base: str | None, timeout: float
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base
        self._timeout = timeout
        self._http: _HttpClient | None = None
        self.client: Client | None = None  # None until started, and after closing

    async def start(self) -> None:
        if self.client is None:
            self._http = _HttpClient(api_base=self._api_base, timeout=self._timeout)
            self.client = Client(
                self._account_sid,
                self._auth_token,
                account_sid=self._account_sid,
                http_client=self._http,
            )

    async def close(self) -> None:
        http, self._http, self.client = self._http, None, None
        if http is not None:
            await http.close()


async def create_message(client: Client, **fields: Any) -> str:
    """Create one message (`messages.create_async` fields); its sid, or the send error it means."""
    _last_response.set(None)
    try:
        created = await client.messages.create_async(**fields)
    except (TwilioRestException, TwilioServiceException) as exc:
        raise twilio_failure(exc) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientSendError(f"Twilio unreachable: {type(exc).__name__}") from exc
    sid = getattr(created, "sid", None)
    if not sid:
        # Accepted, maybe: retrying could send twice, so this is not retried.
        raise PermanentSendError("Twilio accepted the message but returned no sid")
    return str(sid)


def twilio_failure(
    exc: TwilioRestException | TwilioServiceException,
) -> TransientSendError | PermanentSendError:
    """The send error one of twilio's API exceptions means (numbers masked, Retry-After kept)."""
    return classify_error(
        status=int(exc.status),
        code=exc.code,
        detail=mask_phones(_describe(exc)),
        retry_after=_retry_after(_last_response.get()),
    )


def classify_error(
    *, status: int, code: int | None, detail: str, retry_after: float | None = None
) -> TransientSendError | PermanentSendError:
    """The send error a Twilio API failure means: retry later, or stop (and maybe suppress)."""
    label = str(code or status)
    if code in SUPPRESS_CODES:
        return PermanentSendError(detail, code=label, suppress=True)
    if code in TRANSIENT_CODES or status in (408, 429) or status >= 500:
        return TransientSendError(detail, code=label, retry_after=retry_after)
    return PermanentSendError(detail, code=label)


def _describe(exc: TwilioRestException | TwilioServiceException) -> str:
    text = exc.msg if isinstance(exc, TwilioRestException) else exc.detail or exc.title
    return f"Twilio {exc.status} error {exc.code}: {text}"


def _retry_after(response: TwilioResponse | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if there is one."""
    headers: Mapping[str, str] | None = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_PHONE = re.compile(r"\+?\d[\d ()-]{5,}\d")


def mask_phone(number: str) -> str:
    """A phone number fit for logs: "+14155550123" → "+141******23"."""
    digits = number.strip()
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask_phones(text: str) -> str:
    """Every phone-number-like run in a text masked (provider errors quote the number)."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


# GSM 03.38: the basic table (ESC, 0x1B, left out) and the extension table (two septets each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def encoding(text: str) -> str:
    """ "GSM-7" when every character is in the GSM 03.38 tables, else "UCS-2"."""
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS segments a text takes: GSM-7 160 (153 when split), else UCS-2 70 (67)."""
    if encoding(text) == "GSM-7":
        return _pack([2 if c in GSM7_EXTENSION else 1 for c in text], single=160, part=153)
    # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
    return _pack([2 if ord(c) > 0xFFFF else 1 for c in text], single=70, part=67)


def _pack(units: Sequence[int], *, single: int, part: int) -> int:
    """Segments needed when a character (escape pair, surrogate pair) is never split."""
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count
