"""What the dashboard's first screen shows, as plain values (built by bot.insight.dashboard).

Every number here comes from the same functions as the API's scores, themes and responses for
the same filters, so the page and the API agree; the page only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.insight.filters import Filters


@dataclass(frozen=True, slots=True)
class Headline:
    """The survey's score over the period, its interval and its change against the previous one.

    `unit` is "%" for CSAT/CES (% positive) and "points" for NPS. `change` is current minus
    previous in that unit; `p_value`/`significant` come from `test` (its name, as the API's).
    """

    metric: str
    label: str
    unit: str
    score: float | None
    interval: tuple[float, float] | None
    interval_method: str
    responses: int
    small_sample: bool
    average: float | None
    previous_score: float | None
    previous_period: tuple[datetime | None, datetime | None]
    change: float | None
    p_value: float | None
    significant: bool
    test: str | None
    sent: int
    answered: int
    response_rate: float | None
    more_needed: int | None = None  # responses still needed for a ±5-point margin


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of the trend: its label ("2026-11", "2026-W45", "2026-Q4", "2026-11-02")."""

    label: str
    start: date
    score: float | None
    low: float | None
    high: float | None
    responses: int
    small_sample: bool


@dataclass(frozen=True, slots=True)
class DistributionBar:
    """How many answers gave one score, and the band that score is in."""

    score: int
    count: int
    band: str


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of the funnel; `detail` breaks a step down (skipped by reason)."""

    name: str
    label: str
    count: int
    detail: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ThemeRow:
    """A theme over the period: how many comments carry it, per band, and what it costs.

    `impact` is the score of all responses minus the score without this theme's responses, in
    the score's unit: negative when the theme pulls the score down. `change` is this period's
    count minus the previous period's.
    """

    name: str
    responses: int
    share: float
    by_band: dict[str, int]
    impact: float | None
    previous: int
    change: int


@dataclass(frozen=True, slots=True)
class CommentRow:
    """A recent comment with its context; `context` holds ticket, agent and the like."""

    invitation_id: str | None
    answered_at: datetime
    score: int
    band: str
    comment: str
    themes: tuple[str, ...]
    disagrees: bool
    channel: str
    contact: str
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """One value of a segment field (agent=Ana, plan=pro, channel=sms) over the period."""

    field: str
    value: str | None
    responses: int
    score: float | None
    low: float | None
    high: float | None
    small_sample: bool
    response_rate: float | None
    change: float | None = None
    significant: bool = False


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The first screen of one survey under one set of filters."""

    survey: str
    surveys: tuple[str, ...]
    metric: str
    filters: Filters
    granularity: str  # day | week | month | quarter, picked from the period's length
    headline: Headline
    trend: tuple[TrendPoint, ...]
    distribution: tuple[DistributionBar, ...]
    funnel: tuple[FunnelStep, ...]
    themes: tuple[ThemeRow, ...]
    comments: tuple[CommentRow, ...]
    segment_fields: tuple[str, ...]
    segment_field: str
    segments: tuple[SegmentRow, ...]
    channels: tuple[str, ...]  # the channels the survey's responses came on (for the filter)
    properties: tuple[str, ...]  # property names its responses have (for the filter)
    generated_at: datetime
    notes: tuple[str, ...] = field(default=())
