"""Request and response bodies of the HTTP API (their validation errors name the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from bot.contacts.schemas import ContactIn, Properties
from bot.invitations.triggers import TriggerCommand
from bot.wiring import registry


def _known_channel(value: str) -> str:
    if value not in registry.names():
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": registry.expected()}
        )
    return value


# A channel surveybot has (on or not: a channel that is off is refused by the service, naming it).
ChannelName = Annotated[
    str,
    AfterValidator(_known_channel),
    WithJsonSchema({"type": "string", "enum": list(registry.names())}),
]


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

    def command(self) -> TriggerCommand:
        return TriggerCommand(
            survey=self.survey,
            contact=self.contact,
            channel=self.channel,
            delay_seconds=self.delay_seconds,
            properties=dict(self.properties or {}),
            idempotency_key=self.idempotency_key,
        )


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
    """A refusal: what is wrong, and the field to blame when there is one."""

    detail: str
    field: str | None = None


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
