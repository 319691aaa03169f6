"""A contact as callers describe one: the API, CSV imports and help-desk webhooks validate it alike."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from surveys.texts import normalize_locale

PropertyValue = str | int | float | bool | None
Properties = dict[str, PropertyValue]


def normalize_phone(value: str) -> str:
    """E.164, or ValueError with a sentence a person can act on."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "not a phone number; use the international format, e.g. +14155550123"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ContactIn(BaseModel):
    """A contact, created or updated by `external_id`; omitted fields stay as stored."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, description="E.164, e.g. +14155550123")
    telegram_chat_id: str | int | None = None
    locale: str | None = Field(default=None, max_length=35)
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA zone, e.g. Europe/Helsinki"
    )
    properties: Properties | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value) if value else None

    @field_validator("telegram_chat_id")
    @classmethod
    def _chat_id(cls, value: str | int | None) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not text.lstrip("-").isdigit():
            raise ValueError("must be a Telegram chat id (an integer)")
        return text

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalized = normalize_locale(value)
        if normalized is None:
            raise ValueError("not a language tag, e.g. en, fi, zh-Hant")
        return normalized

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not an IANA time zone, e.g. Europe/Helsinki") from exc
        return value

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"external_id", "properties"}, exclude_none=True)
