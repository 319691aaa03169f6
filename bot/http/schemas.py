"""Request and response bodies of the HTTP API (their validation errors name the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from surveys.texts import normalize_locale

ChannelName = Literal["web", "sms", "email", "telegram"]
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


class ContactOut(BaseModel):
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    locale: str | None
    timezone: str | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TriggerIn(BaseModel):
    """Ask one survey of one contact, now or after a delay."""

    model_config = ConfigDict(extra="forbid")

    survey: str = Field(min_length=1, max_length=64)
    contact: ContactIn
    channel: ChannelName | None = Field(
        default=None, description="omit to use the contact's best reachable channel"
    )
    delay_seconds: int = Field(default=0, ge=0, le=90 * 24 * 3600)
    properties: Properties | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class TriggerOut(BaseModel):
    invitation_id: str
    status: Literal["scheduled", "skipped"] | str
    reason: str | None = None
    send_at: datetime
    link: str | None = None
    channel: str


class CancelledOut(BaseModel):
    invitation_id: str
    status: str = Field(description="cancelled")


class CancelledManyOut(BaseModel):
    cancelled: int = Field(description="how many pending invitations were cancelled")


class ResponseOut(BaseModel):
    invitation_id: str | None
    survey: str
    contact: str
    channel: str
    score: int
    reason: str | None
    comment: str | None
    answered_at: datetime
    properties: dict[str, Any]


class ResponsesOut(BaseModel):
    data: list[ResponseOut] = Field(description="one page, newest first")
    count: int = Field(description="all responses matching the filters, across pages")


class SurveyOut(BaseModel):
    key: str
    metric: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SurveysOut(BaseModel):
    data: list[SurveyOut]
    count: int


class ApiError(BaseModel):
    detail: str


class ScoreFields(BaseModel):
    """The scoring fields shared by the whole report and each group."""

    metric: str
    responses: int
    score: float | None = Field(description="CSAT/CES % positive, or NPS -100..100; unrounded")
    average: float | None
    margin_of_error: float | None = Field(description="95 % half-width, in the score's units")
    interval: tuple[float, float] | None = Field(description="95 % interval (Wilson for CSAT/CES)")
    small_sample: bool = Field(description="true below 30 responses")
    distribution: dict[str, int]
    promoters: int | None = Field(default=None, description="NPS only")
    passives: int | None = Field(default=None, description="NPS only")
    detractors: int | None = Field(default=None, description="NPS only")
    positive: int | None = Field(default=None, description="CSAT and CES only")


class GroupReport(ScoreFields):
    group: dict[str, str | None]


class Period(BaseModel):
    from_: str | None = Field(alias="from")
    to: str | None


class Funnel(BaseModel):
    """Invitations created in the period, from trigger to answer (reminders included)."""

    triggered: int
    skipped: dict[str, int] = Field(description="Skipped at trigger time, by reason")
    cancelled: int
    failed: int
    pending: int = Field(description="Scheduled or being sent")
    sent: int
    reminded: int = Field(description="Sent at least one reminder")
    opened: int = Field(description="Opened the chat page in a browser (web and email)")
    answered: int = Field(description="Gave a score")
    answered_after_reminder: int
    completed: int = Field(description="Finished the conversation")
    response_rate: float | None = Field(description="answered / sent")


class ReportOut(ScoreFields):
    """The report object of /api/v1/surveys/{key}/scores and `surveybot report --json`."""

    survey: str
    period: Period
    groups: list[GroupReport]
    funnel: Funnel
