"""A contact as callers describe one: the API, CSV imports and help-desk webhooks validate it alike."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.contacts.text import UNSTORABLE_MESSAGE, Storable, Text, strip_unstorable
from surveys.contact_dates import NOT_A_DATE, is_date_property, parse_iso_date
from surveys.texts import normalize_locale

# What a contact or a trigger may carry as properties (placeholders, report groups): bounded,
# so that one caller cannot store megabytes per row.
MAX_PROPERTIES = 50
MAX_PROPERTY_KEY_CHARS = 64
MAX_PROPERTY_TEXT_CHARS = 1000
_INT64 = 2**63
MAX_CHAT_ID_CHARS = 32  # the column's width; Telegram's ids are far shorter

PropertyKey = Annotated[str, Field(min_length=1, max_length=MAX_PROPERTY_KEY_CHARS), Storable]
PropertyValue = str | int | float | bool | None


def _property_problem(value: PropertyValue) -> str | None:
    """What is wrong with one property value, if anything."""
    if isinstance(value, str):
        if len(value) > MAX_PROPERTY_TEXT_CHARS:
            return f"is longer than {MAX_PROPERTY_TEXT_CHARS} characters"
        return None if strip_unstorable(value) == value else UNSTORABLE_MESSAGE
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        return "is out of range: a whole number must fit in 64 bits"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    return None


def _property_values(properties: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
    for key, value in properties.items():
        problem = _property_problem(value)
        if problem is not None:
            raise PydanticCustomError(
                "property_invalid",
                "property {key} {problem}",
                {"key": repr(key), "problem": problem},
            )
    return properties


Properties = Annotated[
    dict[PropertyKey, PropertyValue],
    Field(max_length=MAX_PROPERTIES),
    AfterValidator(_property_values),
]


def contact_dates(properties: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
    """A contact's date properties (named ``…_date``) as ``YYYY-MM-DD``; a value that is not an
    ISO 8601 date is refused, the error placed at its key (``properties.renewal_date``).

    Null (or an empty cell in an import) is no date: it clears or keeps the stored one.
    """
    problems: list[InitErrorDetails] = []
    dated = dict(properties)
    for key, value in properties.items():
        if value is None or not is_date_property(key):
            continue
        try:
            if not isinstance(value, str):
                raise ValueError(NOT_A_DATE)
            dated[key] = parse_iso_date(value).isoformat()
        except ValueError as exc:
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError("date_invalid", str(exc)), loc=(key,), input=value
                )
            )
    if problems:
        raise ValidationError.from_exception_data("properties", problems)
    return dated


# The region national numbers are read in (SURVEYBOT_DEFAULT_PHONE_REGION), for the request or
# command at hand: set by the HTTP app per request and by the CLI around an import.
PHONE_REGION: ContextVar[str | None] = ContextVar("surveybot_phone_region", default=None)


@contextmanager
def phone_region(region: str | None) -> Iterator[None]:
    """Read national phone numbers as numbers of `region` (None: E.164 only) inside the block."""
    token = PHONE_REGION.set(region)
    try:
        yield
    finally:
        PHONE_REGION.reset(token)


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164, or ValueError with a sentence a person can act on.

    Without a region a number must be international (+ and the country code); with one, a
    national number such as (415) 555-0123 is read as that region's.
    """
    region = region or PHONE_REGION.get()
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        if region:
            raise ValueError(
                f"not a phone number; use the international format, e.g. +14155550123, "
                f"or a national number of {region}"
            ) from exc
        raise ValueError(
            "not a phone number; use the international format, e.g. +14155550123"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ContactIn(BaseModel):
    """A contact, created or updated by `external_id`; omitted fields stay as stored."""

    model_config = ConfigDict(extra="forbid")

    external_id: Text = Field(min_length=1, max_length=255)
    name: Annotated[str, Field(max_length=255), Storable] | None = None
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=32), Storable] | None = Field(
        default=None,
        description="E.164, e.g. +14155550123 (or national, with SURVEYBOT_DEFAULT_PHONE_REGION)",
    )
    telegram_chat_id: str | int | None = None
    locale: Annotated[str, Field(max_length=35), Storable] | None = None
    timezone: Annotated[str, Field(max_length=64), Storable] | None = Field(
        default=None, description="IANA zone, e.g. Europe/Helsinki"
    )
    properties: Properties | None = Field(
        default=None,
        description="merged into the stored ones key by key; a property named …_date holds an"
        " ISO 8601 date (YYYY-MM-DD) or null",
    )

    @field_validator("properties")
    @classmethod
    def _dates(cls, value: dict[str, PropertyValue] | None) -> dict[str, PropertyValue] | None:
        return None if value is None else contact_dates(value)

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
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError("must be a Telegram chat id (an integer)")
        if len(text) > MAX_CHAT_ID_CHARS:
            raise ValueError(f"longer than {MAX_CHAT_ID_CHARS} characters")
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
