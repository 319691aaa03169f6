"""The shapes of the insight answers (scores and their comparison) in the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NNeeded(BaseModel):
    """How many responses would bring the margin to ±`margin` points at the shares seen."""

    margin: float
    responses: int = Field(description="responses needed in all")
    more: int = Field(description="responses still to collect (0 when reached)")


class ScoreFields(BaseModel):
    """The scoring fields shared by the whole report and each group."""

    metric: str
    responses: int
    score: float | None = Field(description="CSAT/CES % positive, or NPS -100..100; unrounded")
    average: float | None
    margin_of_error: float | None = Field(description="95 % half-width, in the score's units")
    interval: tuple[float, float] | None = Field(
        description="95 % interval: adjusted-Wald for NPS, Wilson for CSAT/CES"
    )
    interval_method: str = Field(description="adjusted-wald or wilson")
    average_interval: tuple[float, float] | None = Field(
        description="95 % t-interval of the mean score (from 2 responses)"
    )
    small_sample: bool = Field(description="true below 30 responses")
    n_needed: NNeeded
    distribution: dict[str, int]
    promoters: int | None = Field(default=None, description="NPS only")
    passives: int | None = Field(default=None, description="NPS only")
    detractors: int | None = Field(default=None, description="NPS only")
    positive: int | None = Field(default=None, description="CSAT and CES only")


class ReachFields(BaseModel):
    """Invitations created in the period that were sent, and answered (null when the filters or
    the group are about the answer: a reason, a band, a text)."""

    sent: int | None = None
    answered: int | None = None
    response_rate: float | None = Field(default=None, description="answered / sent")


class Brief(BaseModel):
    responses: int
    score: float | None
    interval: tuple[float, float] | None
    average: float | None
    small_sample: bool


class MeanChange(BaseModel):
    difference: float
    interval: tuple[float, float] | None
    test: str = Field(description="Welch t-test")
    t: float | None
    df: float | None
    p_value: float
    significant: bool


class Change(BaseModel):
    """The change from the compared period (current minus previous) and its test at 95 %."""

    difference: float | None = Field(description="in % points (CSAT/CES) or NPS points")
    interval: tuple[float, float] | None = Field(description="95 % interval of the difference")
    test: str | None = Field(description="two-proportion z-test, or adjusted-Wald z-test (NPS)")
    z: float | None
    p_value: float | None
    significant: bool
    average: MeanChange | None = Field(description="the change of the mean score")
    previous: Brief


class Period(BaseModel):
    from_: str | None = Field(alias="from")
    to: str | None


class Comparison(Change):
    period: Period


class GroupReport(ScoreFields, ReachFields):
    group: dict[str, str | None]
    comparison: Change | None = None


class Funnel(BaseModel):
    """Invitations created in the period, from trigger to answer (reminders included)."""

    triggered: int
    skipped: dict[str, int] = Field(description="Skipped at trigger time, by reason")
    cancelled: int
    failed: int
    pending: int = Field(description="Scheduled or being sent")
    sent: int
    delivered: int = Field(
        description="Sent and, where the provider reports delivery (SMS), confirmed delivered"
    )
    reminded: int = Field(description="Sent at least one reminder")
    opened: int = Field(description="Opened the chat page in a browser (web and email)")
    answered: int = Field(description="Gave a score")
    answered_after_reminder: int
    commented: int = Field(description="Answered with a comment")
    completed: int = Field(description="Finished the conversation")
    response_rate: float | None = Field(description="answered / sent")
    reached: dict[str, int] = Field(
        default_factory=dict, description="Sent, by the channel that reached the contact"
    )
    fell_back: int = Field(
        default=0, description="Sent on a channel after another failed the question (fallback)"
    )
    channel_failures: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Questions a channel could not send, by channel and reason (not_on, "
        "no_address, opted_out, refused, gave_up, undelivered)",
    )


class ReportOut(ScoreFields, ReachFields):
    """The report object of /api/v1/surveys/{key}/scores and `surveybot report --json`."""

    survey: str
    period: Period
    filters: dict[str, list[str]]
    group_by: list[str]
    comparison: Comparison | None = None
    groups: list[GroupReport]
    funnel: Funnel
