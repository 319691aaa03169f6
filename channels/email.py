"""The email channel: a multipart survey email with one signed link per score, sent by aiosmtplib.

The adapter knows messages, not surveys: the wiring puts the per-message data in
`OutboundMessage.metadata` before the send —

    rate_url.<value>    the link behind the button of each scale choice (required for choices)
    unsubscribe_url     the signed one-click unsubscribe URL (List-Unsubscribe, and the footer)
    unsubscribe_label   the footer link's text, in the reader's language
    lang                the language tag of the HTML part
    subject             the subject line (default: the question's first line, shortened)

What stays the same for every email (the sender's name, the button colour) is the channel's
`Look`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid, parseaddr
from typing import Literal

import aiosmtplib

from channels.base import (
    ChannelError,
    Choice,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

log = logging.getLogger("channels.email")

TlsMode = Literal["none", "starttls", "tls"]
SUBJECT_CHARS = 78
# More than this many buttons would not fit a 360 px phone in one row: split the scale in two.
ROW_MAX = 7
FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


@dataclass(frozen=True, slots=True)
class Look:
    """What every email shares: the sender's name (the heading, the signature, the From name
    when the sender has none) and the score buttons' colour with a text colour readable on it."""

    name: str | None = None
    accent: str = "#1a56db"
    on_accent: str = "#ffffff"


class _VerbatimHeader(UnstructuredHeader, BaseHeader):
    """A header written on one line as given, never re-encoded.

    The email package folds a header longer than 78 characters, and a long URL has no space to
    fold at, so it becomes an RFC 2047 encoded-word, which no mail provider reads as a
    List-Unsubscribe URL. aiosmtplib flattens with its own policy, so the header object itself
    has to fold (header lines may be up to 998 characters).
    """

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _VerbatimHeader)
_POLICY = policy.default.clone(header_factory=_HEADERS)


def mask_email(address: str) -> str:
    """An address fit for logs: "ana@example.com" → "a***@example.com"."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def subject_from(text: str, limit: int = SUBJECT_CHARS) -> str:
    """A short subject line: the question's first line, cut at a word with an ellipsis."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = re.sub(r"\s+", " ", first)
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def _rows(links: list[tuple[Choice, str]]) -> list[list[tuple[Choice, str]]]:
    if len(links) <= ROW_MAX:
        return [links]
    half = (len(links) + 1) // 2
    return [links[:half], links[half:]]


def _links(message: OutboundMessage) -> list[tuple[Choice, str]]:
    links = []
    for choice in message.choices:
        url = message.metadata.get(f"rate_url.{choice.value}")
        if not url:
            raise PermanentSendError(
                f"no rating link for choice {choice.value!r} (metadata rate_url.{choice.value})",
                code="missing_links",
            )
        links.append((choice, url))
    return links


def render_text(message: OutboundMessage, look: Look = Look()) -> str:
    """The plain-text part: the question, one line per score with its link, then a signature
    (the sender's name, the unsubscribe link)."""
    lines = [message.text.strip(), ""]
    if message.choices and message.choices_hint:
        lines += [message.choices_hint.strip(), ""]
    links = _links(message)
    for i, (choice, url) in enumerate(links):
        label = ""
        if message.labels and i == 0:
            label = f" ({message.labels[0]})"
        elif message.labels and i == len(links) - 1:
            label = f" ({message.labels[1]})"
        lines.append(f"{choice.label}{label}: {url}")
    signature = [look.name] if look.name else []
    unsubscribe = message.metadata.get("unsubscribe_url")
    if unsubscribe:
        label = message.metadata.get("unsubscribe_label", "Unsubscribe")
        signature.append(f"{label}: {unsubscribe}")
    if signature:
        lines += ["", "-- ", *signature]
    return "\n".join(lines).strip() + "\n"


def _button(choice: Choice, url: str, look: Look) -> str:
    accent, on_accent = (
        html.escape(look.accent, quote=True),
        html.escape(look.on_accent, quote=True),
    )
    style = (
        "display:block;width:38px;padding:10px 0;border-radius:6px;"
        f"background:{accent};color:{on_accent};font-family:{FONT};font-size:17px;"
        "font-weight:bold;line-height:20px;text-align:center;text-decoration:none;"
    )
    return (
        '<td style="padding:3px;">'
        f'<a href="{html.escape(url, quote=True)}" style="{style}">{html.escape(choice.label)}</a>'
        "</td>"
    )


def _scale(links: list[tuple[Choice, str]], labels: tuple[str, str] | None, look: Look) -> str:
    rows = "".join(
        "<tr>" + "".join(_button(*link, look) for link in row) + "</tr>" for row in _rows(links)
    )
    grid = f'<table role="presentation" cellpadding="0" cellspacing="0" border="0">{rows}</table>'
    if not labels:
        return grid
    cell = f"padding:6px 3px 0;font-family:{FONT};font-size:13px;color:#57606a;"
    ends = (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>'
        f'<td align="left" style="{cell}">{html.escape(labels[0])}</td>'
        f'<td align="right" style="{cell}">{html.escape(labels[1])}</td>'
        "</tr></table>"
    )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
        f"<tr><td>{grid}</td></tr><tr><td>{ends}</td></tr></table>"
    )


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.strip().splitlines())


def render_html(message: OutboundMessage, subject: str, look: Look = Look()) -> str:
    """The HTML part: tables and inline styles only, no images, scripts or external assets."""
    lang = html.escape(message.metadata.get("lang", "en"), quote=True)
    body = ""
    if look.name:
        body += (
            f'<tr><td style="padding:20px 24px 0;font-family:{FONT};font-size:14px;'
            f'font-weight:bold;color:#57606a;">{html.escape(look.name)}</td></tr>'
        )
    body += (
        f'<tr><td style="padding:28px 24px 12px;font-family:{FONT};font-size:18px;'
        f'line-height:1.45;color:#1f2328;">{_paragraphs(message.text)}</td></tr>'
    )
    if message.choices and message.choices_hint:
        body += (
            f'<tr><td style="padding:0 24px 10px;font-family:{FONT};font-size:14px;'
            f'line-height:1.4;color:#57606a;">{html.escape(message.choices_hint)}</td></tr>'
        )
    if message.choices:
        body += (
            '<tr><td style="padding:4px 21px 24px;">'
            f"{_scale(_links(message), message.labels, look)}</td></tr>"
        )
    unsubscribe = message.metadata.get("unsubscribe_url")
    footer = ""
    if unsubscribe:
        label = html.escape(message.metadata.get("unsubscribe_label", "Unsubscribe"))
        footer = (
            f'<tr><td align="center" style="padding:14px 24px;font-family:{FONT};'
            'font-size:12px;color:#6e7781;">'
            f'<a href="{html.escape(unsubscribe, quote=True)}" style="color:#6e7781;">{label}</a>'
            "</td></tr>"
        )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="margin:0;padding:0;background:#f3f4f6;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f3f4f6;"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff;border:1px solid #e5e7eb;border-radius:8px;">'
        f"{body}</table>"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="max-width:560px;">{footer}</table>'
        "</td></tr></table></body></html>"
    )


def _mailto(value: str) -> str:
    url = value if value.lower().startswith("mailto:") else f"mailto:{value}"
    return url if "?" in url else f"{url}?subject=unsubscribe"


class EmailChannel:
    """Sends each survey email over its own SMTP connection (aiosmtplib.send)."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        tls: TlsMode = "starttls",
        username: str | None = None,
        password: str | None = None,
        unsubscribe_mailto: str | None = None,
        timeout: float = 20.0,
        look: Look = Look(),
    ) -> None:
        domain = parseaddr(sender)[1].rpartition("@")[2]
        if not domain:
            raise ValueError(f"the sender (SURVEYBOT_SMTP_FROM) {sender!r} is not an email address")
        self._host = host
        self._port = port
        self._sender = sender
        self._domain = domain
        self._tls = tls
        self._username = username
        self._password = password
        self._mailto = _mailto(unsubscribe_mailto) if unsubscribe_mailto else None
        self._timeout = timeout
        self._look = look
        self._tls_context: ssl.SSLContext | None = None

    async def start(self) -> None:
        if self._tls != "none":
            # Loading the CA bundle reads files: once, off the event loop, not on every send.
            self._tls_context = await asyncio.to_thread(ssl.create_default_context)

    async def close(self) -> None:
        return None  # one connection per message: nothing stays open

    def build(self, message: OutboundMessage) -> EmailMessage:
        """The email for one outbound message, with a fresh Message-ID."""
        subject = message.metadata.get("subject") or subject_from(message.text)
        email = EmailMessage(policy=_POLICY)
        email["From"] = self._from()
        email["To"] = message.address
        email["Subject"] = subject
        email["Date"] = formatdate(usegmt=True)
        # A domain is given so that make_msgid does not look up this host's name (blocking DNS).
        email["Message-ID"] = make_msgid(domain=self._domain)
        unsubscribe = message.metadata.get("unsubscribe_url")
        targets = [f"<{u}>" for u in (unsubscribe, self._mailto) if u]
        if targets:
            email["List-Unsubscribe"] = ", ".join(targets)
        if unsubscribe:
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(render_text(message, self._look))
        email.add_alternative(render_html(message, subject, self._look), subtype="html")
        return email

    def _from(self) -> str | Address:
        """The sender, named after the look when SURVEYBOT_SMTP_FROM gives no name of its own."""
        name, address = parseaddr(self._sender)
        if name or not self._look.name:
            return self._sender
        local, _, domain = address.rpartition("@")
        return Address(display_name=self._look.name, username=local, domain=domain)

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            email = self.build(message)
        except ValueError as exc:  # a header value the email package refuses (e.g. a newline)
            raise PermanentSendError(f"cannot build the email: {exc}") from exc
        message_id = str(email["Message-ID"])
        try:
            await aiosmtplib.send(
                email,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls == "tls",
                start_tls=self._tls == "starttls",
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            raise self._error(exc, message.address) from exc
        log.info("email sent to %s as %s", mask_email(message.address), message_id)
        return SendResult(provider_message_id=message_id)

    def _error(self, exc: Exception, address: str) -> ChannelError:
        """What an SMTP failure means for this send: retry later, or stop (and maybe suppress)."""
        server = f"{self._host}:{self._port}"
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            return _refused(exc.recipients, address)
        if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
            return _refused([exc], address)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            reply, code = f"{exc.code} {exc.message}", str(exc.code)
            # Login and sender refusals are configuration problems: they stay transient so the
            # invitation waits for a fix, and retries stop at SURVEYBOT_MAX_SEND_ATTEMPTS.
            if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                hint = "check SURVEYBOT_SMTP_USERNAME and SURVEYBOT_SMTP_PASSWORD"
                return TransientSendError(
                    f"{server} refused the login ({reply}): {hint}", code=code
                )
            if isinstance(exc, aiosmtplib.SMTPSenderRefused):
                hint = "check SURVEYBOT_SMTP_FROM and the relay's permissions"
                return TransientSendError(
                    f"{server} refused the sender ({reply}): {hint}", code=code
                )
            if isinstance(exc, aiosmtplib.SMTPDataError) and 500 <= exc.code < 600:
                return PermanentSendError(f"{server} refused the message ({reply})", code=code)
            return TransientSendError(f"{server} answered {reply}", code=code)
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return TransientSendError(f"{server} does not support SURVEYBOT_SMTP_TLS's mode: {exc}")
        if isinstance(exc, ValueError):  # an address that cannot be sent safely (no SMTPUTF8)
            return PermanentSendError(f"the address cannot be used: {exc}")
        if isinstance(exc, aiosmtplib.SMTPException) and not isinstance(
            exc, (ConnectionError, TimeoutError)
        ):
            return TransientSendError(f"SMTP with {server} failed: {exc}")  # e.g. no AUTH offered
        return TransientSendError(
            f"cannot reach the SMTP server {server}: {type(exc).__name__}: {exc}"
        )


def _refused(
    refusals: Sequence[aiosmtplib.SMTPRecipientRefused], address: str
) -> TransientSendError | PermanentSendError:
    """A refused recipient: 5xx is permanent (suppressed unless it is a policy refusal), 4xx not."""
    first = refusals[0] if refusals else None
    code = first.code if first else 0
    detail = f"{code} {first.message}" if first else "refused"
    masked = mask_email(address)
    if not 500 <= code < 600:
        return TransientSendError(
            f"the SMTP server deferred the recipient {masked} ({detail})", code=str(code)
        )
    # 5.7.x is policy (relay denied, sender blocked): the sender's problem, not a bad address,
    # so it stops this send without opting the person out.
    policy = bool(first and re.match(r"5\.7\.\d", first.message.strip()))
    return PermanentSendError(
        f"the SMTP server refused the recipient {masked} ({detail})",
        code=str(code),
        suppress=not policy,
    )
