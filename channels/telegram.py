"""The Telegram channel: an aiogram Bot held (not subclassed), inline keyboards, limits, deep links.

Keyboard buttons carry typed callback data so a press is never misread: ``s:<score>[:<reference>]``
for a scale point (the reference names the conversation, so a press on an old question cannot
answer a newer one), ``r:<n>`` for the n-th reason (the engine takes a reason by its number) and
``c:<value>`` for any other choice (Skip). Scale labels go on a line under the question.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

from channels.base import (
    ChannelError,
    Choice,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

log = logging.getLogger("channels.telegram")

MAX_TEXT = 4096  # Telegram refuses longer messages
MAX_ROW = 8  # buttons per keyboard row that still fit a phone screen
MARK = "✓ "
UPDATE_TYPES = ["message", "callback_query"]


def keyboard(
    choices: Sequence[Choice], reference: str | None = None
) -> InlineKeyboardMarkup | None:
    """Scale points in one row (two when more than 8), Skip alone, reasons one per row."""
    if not choices:
        return None
    if _is_scale(choices):
        suffix = f":{reference}" if reference and len(reference.encode()) <= 48 else ""
        buttons = [_button(c.label, f"s:{c.value}{suffix}") for c in choices]
        half = (len(buttons) + 1) // 2
        rows = [buttons] if len(buttons) <= MAX_ROW else [buttons[:half], buttons[half:]]
    elif len(choices) == 1:
        (only,) = choices
        data = f"c:{only.value}"
        rows = [[_button(only.label, data if len(data.encode()) <= 64 else "r:1")]]
    else:
        rows = [[_button(c.label, f"r:{n}")] for n, c in enumerate(choices, start=1)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


@dataclass(frozen=True, slots=True)
class Pressed:
    """What a pressed button means: the reply it stands for, and the conversation if named."""

    text: str
    score: bool
    reference: str | None = None


def parse_callback(data: str | None) -> Pressed | None:
    """The meaning of a button's callback data; None if the data is not ours."""
    kind, _, value = (data or "").partition(":")
    if not value or kind not in ("s", "r", "c"):
        return None
    if kind != "s":
        return Pressed(value, score=False)
    score, _, reference = value.partition(":")
    return Pressed(score, score=True, reference=reference or None)


def marked(markup: InlineKeyboardMarkup, data: str) -> InlineKeyboardMarkup:
    """The same keyboard with a check mark on the pressed button only."""
    rows = [
        [
            b.model_copy(
                update={
                    "text": (MARK if b.callback_data == data else "") + b.text.removeprefix(MARK)
                }
            )
            for b in row
        ]
        for row in markup.inline_keyboard
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def message_text(message: OutboundMessage) -> str:
    """The text to send: buttons replace the typed-answer hint; scale labels get their own line."""
    text = message.text.strip()
    if message.labels and message.choices and _is_scale(message.choices):
        low, high = message.labels
        text += f"\n{message.choices[0].label} = {low} … {message.choices[-1].label} = {high}"
    return text[:MAX_TEXT]


def _is_scale(choices: Sequence[Choice]) -> bool:
    return all(c.value.isdigit() and c.label == c.value for c in choices)


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=label, callback_data=data)


class LinkPayloads:
    """Deep-link payloads: ``<contact id hex>-<expiry hex>-<HMAC-SHA256, 12 bytes, base64url>``.

    At most 42 characters of ``A-Za-z0-9_-`` (Telegram allows 64); itsdangerous tokens are too long.
    """

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def sign(self, contact_id: int, expires_at: datetime) -> str:
        expires = int(expires_at.timestamp())
        return f"{contact_id:x}-{expires:x}-{self._mac(contact_id, expires)}"

    def verify(self, payload: str, *, now: datetime) -> int:
        """The contact id in a payload, or InvalidPayload (tampered, malformed or expired)."""
        parts = payload.split("-", 2)
        try:
            contact_id, expires = int(parts[0], 16), int(parts[1], 16)
        except (IndexError, ValueError):
            raise InvalidPayload("the link is not valid") from None
        canonical = f"{contact_id:x}-{expires:x}-{self._mac(contact_id, expires)}"
        if not hmac.compare_digest(payload.encode(), canonical.encode()):
            raise InvalidPayload("the link is not valid")
        if now >= datetime.fromtimestamp(expires, UTC):
            raise InvalidPayload("the link has expired", expired=True)
        return contact_id

    def _mac(self, contact_id: int, expires: int) -> str:
        digest = hmac.new(
            self._key, f"telegram-link:{contact_id}:{expires}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")


class InvalidPayload(Exception):
    """Raised when a deep-link payload is tampered with, malformed or past its expiry."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets for the whole bot and for each chat; chats idle long enough are forgotten."""

    def __init__(
        self,
        *,
        per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        max_chats: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rate = per_second
        self._chat_rate, self._chat_burst = per_chat_per_second, per_chat_burst
        self._max_chats, self._clock, self._sleep = max_chats, clock, sleep
        self._global = _Bucket(1.0, clock())
        self._chats: dict[str, _Bucket] = {}

    async def acquire(self, chat: str | None = None) -> None:
        """Wait until one more message may go out (to `chat`, when given)."""
        if chat is not None:
            bucket = self._chats.get(chat)
            if bucket is None:
                self._forget_idle()
                bucket = self._chats[chat] = _Bucket(float(self._chat_burst), self._clock())
            await self._take(bucket, self._chat_rate, self._chat_burst)
        # The bot-wide bucket holds one token: messages are spaced 1/30 s apart.
        await self._take(self._global, self._rate, 1)

    async def _take(self, bucket: _Bucket, rate: float, capacity: int) -> None:
        # Reserve now (the balance may go negative), then sleep off the debt: waiters stay in order.
        now = self._clock()
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate) - 1
        bucket.stamp = now
        if bucket.tokens < 0:
            await self._sleep(-bucket.tokens / rate)

    def _forget_idle(self) -> None:
        if len(self._chats) < self._max_chats:
            return
        now = self._clock()
        full = self._chat_burst / self._chat_rate
        for chat in [c for c, b in self._chats.items() if now - b.stamp >= full]:
            del self._chats[chat]


class TelegramChannel:
    """Sends through the Bot API with aiogram; also the Bot API calls the wiring needs."""

    name = "telegram"

    def __init__(
        self, *, token: str, api_base: str | None = None, limiter: RateLimiter | None = None
    ) -> None:
        self._token = token
        self._api_base = api_base
        self._limiter = limiter or RateLimiter()
        self._bot: Bot | None = None
        self._username: str | None = None

    async def start(self) -> None:
        session = (
            AiohttpSession(api=TelegramAPIServer.from_base(self._api_base))
            if self._api_base
            else AiohttpSession()
        )
        self._bot = Bot(self._token, session=session)

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise TransientSendError("the Telegram channel is not started")
        return self._bot

    async def send(self, message: OutboundMessage) -> SendResult:
        chat = message.address
        await self._limiter.acquire(chat)
        try:
            sent = await self.bot.send_message(
                chat_id=_chat_id(chat),
                text=message_text(message),
                reply_markup=keyboard(message.choices, message.reference),
            )
        except AiogramError as exc:
            _raise(exc)
        return SendResult(provider_message_id=f"{sent.chat.id}:{sent.message_id}")

    async def answer_callback(self, callback_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_id)
        except AiogramError as exc:
            _raise(exc)

    async def edit_keyboard(
        self, chat: str, message_id: int, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Replace a sent message's keyboard (None removes it)."""
        await self._limiter.acquire()
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=_chat_id(chat), message_id=message_id, reply_markup=markup
            )
        except AiogramError as exc:
            _raise(exc)

    async def username(self) -> str:
        """The bot's @username (getMe once, then cached)."""
        if self._username is None:
            try:
                me = await self.bot.get_me()
            except AiogramError as exc:
                _raise(exc)
            self._username = me.username or ""
        return self._username

    async def set_webhook(self, url: str, *, secret: str) -> None:
        try:
            await self.bot.set_webhook(url, secret_token=secret, allowed_updates=UPDATE_TYPES)
        except AiogramError as exc:
            _raise(exc)

    async def delete_webhook(self) -> None:
        try:
            await self.bot.delete_webhook()
        except AiogramError as exc:
            _raise(exc)

    async def get_updates(self, offset: int | None, *, poll_seconds: int = 25) -> list[Update]:
        try:
            return await self.bot.get_updates(
                offset=offset,
                timeout=poll_seconds,
                allowed_updates=UPDATE_TYPES,
                request_timeout=poll_seconds + 10,
            )
        except AiogramError as exc:
            _raise(exc)


def _chat_id(address: str) -> int | str:
    return int(address) if address.lstrip("-").isdigit() else address


def _raise(exc: AiogramError) -> NoReturn:
    """Map aiogram's errors onto the channel errors; messages never carry the chat id."""
    error: ChannelError
    description = getattr(exc, "message", "") or type(exc).__name__
    if isinstance(exc, TelegramRetryAfter):
        error = TransientSendError(
            f"Telegram flood control: retry in {exc.retry_after} s",
            code="429",
            retry_after=float(exc.retry_after),
        )
    elif isinstance(exc, TelegramForbiddenError):
        error = PermanentSendError(f"Telegram: {description}", code="403", suppress=True)
    elif isinstance(exc, TelegramBadRequest):
        gone = "chat not found" in description.lower()
        error = PermanentSendError(f"Telegram: {description}", code="400", suppress=gone)
    elif isinstance(exc, TelegramMigrateToChat):  # its description names both chats
        error = PermanentSendError("Telegram: the group became a supergroup", code="400")
    elif isinstance(exc, TelegramNotFound | TelegramUnauthorizedError):
        error = PermanentSendError(f"Telegram: {description}", code=type(exc).__name__)
    else:  # network errors, 5xx, undecodable answers: the same message may go through later
        error = TransientSendError(f"Telegram: {description}", code=type(exc).__name__)
    raise error from exc
