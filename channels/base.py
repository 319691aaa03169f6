"""Normalised message types, send errors, the Channel protocol, and what describes a channel.

Error tree::

    ChannelError                 base of every error an adapter raises
    ├── TransientSendError       the provider may accept the same message later (retry with backoff)
    └── PermanentSendError       the provider will never accept it (stop; maybe suppress the address)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What a channel is: the facts settings, quiet hours, rate limits and channel choice read.

    `address` names the contact's field that reaches a person on the channel ("phone"); None
    means the channel has no address of its own: a link handed to whoever asked is the way in,
    so it cannot start a conversation (no reminders, no campaigns).
    """

    name: str
    address: str | None
    send_rate: float  # sends per second by default, shared by every worker (0: no limit)
    quiet_hours: tuple[str, str] | None  # the local send window by default (None: any time)
    max_text: int | None  # the longest text one message may carry (None: no limit)
    buttons: bool  # shows choices as buttons (else a typed answer, told by a hint)
    links: bool  # can carry a link
    # Free text only this many hours after the person's last message (WhatsApp's customer-service
    # window); outside it a question must go as a template approved beforehand (None: any time).
    session_hours: float | None = None

    @property
    def reaches_by_itself(self) -> bool:
        return self.address is not None

    def address_of(self, contact: Any) -> str | None:
        """The contact's address here; a link-only channel has none to look up."""
        if self.address is None:
            return None
        value: str | None = getattr(contact, self.address)
        return value

    def reaches(self, contact: Any) -> bool:
        """Whether the contact can be asked here: a link always works, an address must be known."""
        return self.address is None or bool(self.address_of(contact))


@dataclass(frozen=True, slots=True)
class Choice:
    """One button the person can press instead of typing; `value` is what pressing it sends."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Template:
    """A message the provider approved beforehand, sent instead of free text: its id and the
    values of its numbered variables ("1", "2", …)."""

    id: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message from a person, as any channel delivers it."""

    channel: str
    address: str
    text: str
    provider_message_id: str
    received_at: datetime

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What to send to a person: text, plus optional buttons and the words that replace them.

    `choices_hint` is the localised sentence a text-only channel appends instead of buttons
    ("Reply with a number from 0 to 10"); `link` is a URL the message is about, if any.
    """

    channel: str
    address: str
    text: str
    choices: tuple[Choice, ...] = ()
    choices_hint: str | None = None
    link: str | None = None
    reference: str | None = None
    labels: tuple[str, str] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    template: Template | None = None  # sent instead of the text where the provider needs one


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_message_id: str


class ChannelError(Exception):
    """Raised by an adapter when a send or a provider call fails."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientSendError(ChannelError):
    """Raised when the provider may accept the message later (5xx, timeout, rate limit)."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentSendError(ChannelError):
    """Raised when the provider will never accept the message (blocked, opted out, bad address).

    `suppress` says the address itself should not be used again on this channel.
    """

    def __init__(self, message: str, *, code: str | None = None, suppress: bool = False) -> None:
        super().__init__(message, code=code)
        self.suppress = suppress


@runtime_checkable
class Channel(Protocol):
    """A way to reach people. Adapters hold their provider client; they never subclass it."""

    name: str

    async def start(self) -> None:
        """Create clients and connections; called once from the app's lifespan."""
        ...

    async def close(self) -> None:
        """Release clients and connections; called once on shutdown."""
        ...

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message or raise a ChannelError subclass."""
        ...


def degrade_to_text(message: OutboundMessage, *, include_link: bool = True) -> str:
    """Render a message for a text-only channel: buttons become their hint sentence."""
    parts = [message.text.strip()]
    if message.choices and message.choices_hint:
        parts.append(message.choices_hint.strip())
    if message.link and include_link:
        parts.append(message.link)
    return "\n".join(p for p in parts if p)
