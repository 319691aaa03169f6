"""Mail to people who run surveys (alerts, digests, health notices) through the SMTP settings.

One connection per message (aiosmtplib.send), a text part and an HTML part. A refusal says
whether trying again can help: a 5xx refusal of the recipient or of the message cannot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid, parseaddr
from typing import Literal

import aiosmtplib

from channels.email import mask_email

log = logging.getLogger("bot.events")

TlsMode = Literal["none", "starttls", "tls"]


class _OneLineSubject(UnstructuredHeader, BaseHeader):
    """An ASCII subject written on one line (header lines may be up to 998 characters).

    Past 78 characters the email package folds a subject before its first word, and readers
    then show it with a leading space; aiosmtplib flattens with its own policy, so the header
    object itself has to fold. Other subjects (encoded words) fold as usual.
    """

    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        if text.isascii() and text.isprintable() and len(text) < 900:
            return f"{self.name}: {text}{policy.linesep}"
        return super().fold(policy=policy)


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _OneLineSubject)
_POLICY = policy.default.clone(header_factory=_HEADERS)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where mail goes out: the SMTP server, its TLS mode and login, and the sender."""

    host: str
    port: int
    sender: str
    tls: TlsMode = "starttls"
    username: str | None = None
    password: str | None = None
    # The From name when the sender has none (the instance's brand name).
    name: str | None = None
    timeout: float = 20.0


@dataclass(frozen=True, slots=True)
class Mail:
    """One message to one address: a subject, a plain-text part and an HTML part."""

    to: str
    subject: str
    text: str
    html: str


class MailError(Exception):
    """Raised when the SMTP server did not take a message; `permanent`: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Mailer:
    """Sends `Mail` through one SMTP server."""

    def __init__(self, smtp: SmtpSettings) -> None:
        domain = parseaddr(smtp.sender)[1].rpartition("@")[2]
        if not domain:
            raise ValueError(f"the sender {smtp.sender!r} is not an email address")
        self._smtp = smtp
        self._domain = domain
        self._tls_context: ssl.SSLContext | None = None

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage(policy=_POLICY)
        message["From"] = self._from()
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        # A domain is given so that make_msgid does not look up this host's name (blocking DNS).
        message["Message-ID"] = make_msgid(domain=self._domain)
        # RFC 3834: sent by a program, so out-of-office replies are not sent back to it.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message

    async def send(self, mail: Mail) -> str:
        """Send one message; its Message-ID, or MailError."""
        smtp = self._smtp
        try:
            message = self.build(mail)
        except ValueError as exc:  # a header the email package refuses (a newline, say)
            raise MailError(f"cannot build the email: {exc}", permanent=True) from exc
        if smtp.tls != "none" and self._tls_context is None:
            # Loading the CA bundle reads files: once, off the event loop.
            self._tls_context = await asyncio.to_thread(ssl.create_default_context)
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.tls == "tls",
                start_tls=smtp.tls == "starttls",
                tls_context=self._tls_context,
                timeout=smtp.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            raise _error(exc, f"{smtp.host}:{smtp.port}") from exc
        message_id = str(message["Message-ID"])
        # The subject names the customer: the log gets the masked address and the id only.
        log.info("mail sent to %s as %s", mask_email(mail.to), message_id)
        return message_id

    def _from(self) -> str | Address:
        name, address = parseaddr(self._smtp.sender)
        if name or not self._smtp.name:
            return self._smtp.sender
        local, _, domain = address.rpartition("@")
        return Address(display_name=self._smtp.name, username=local, domain=domain)


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _error(exc: Exception, server: str) -> MailError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return MailError(f"{server} refused the recipient ({codes})", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # A server's reply may quote the address: masked, as every address in the log is.
        reply = _ADDRESS.sub(lambda m: mask_email(m.group()), f"{exc.code} {exc.message}")
        # A refused login or sender is a setting to fix: retried meanwhile, never final.
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPSenderRefused):
            return MailError(f"{server} refused the login or the sender ({reply})")
        refused = isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError)
        return MailError(f"{server} answered {reply}", permanent=refused and exc.code >= 500)
    if isinstance(exc, ValueError):  # an address that cannot be sent safely
        return MailError(f"the address cannot be used: {exc}", permanent=True)
    return MailError(f"cannot reach the SMTP server {server}: {type(exc).__name__}")
