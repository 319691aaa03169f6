"""Survey definitions: the one shape YAML files and the API share, with scale defaults and bands."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    field_validator,
    model_validator,
)

from surveys.quiet_hours import Window
from surveys.texts import normalize_locale, placeholders_in
from surveys.whatsapp import WhatsAppOptions

LocalizedText = str | dict[str, str]
"""A plain string, or a mapping of locale → string."""

Band = Literal["negative", "neutral", "positive", "detractor", "passive", "promoter"]

ALLOWED_SCALES: tuple[tuple[int, int], ...] = ((1, 3), (1, 5), (1, 7), (1, 10), (0, 10))


def iana_zone(value: str) -> str:
    """A validator's check that `value` names a time zone zoneinfo knows."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone, e.g. America/New_York") from exc
    return value


class Metric(StrEnum):
    """The three survey metrics surveybot scores."""

    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


DEFAULT_SCALE: dict[Metric, tuple[int, int]] = {
    Metric.CSAT: (1, 5),
    Metric.NPS: (0, 10),
    Metric.CES: (1, 7),
}

# (metric, scale) → first positive score, where the convention is well established.
DEFAULT_POSITIVE_FROM: dict[tuple[Metric, tuple[int, int]], int] = {
    (Metric.CSAT, (1, 3)): 3,
    (Metric.CSAT, (1, 5)): 4,
    (Metric.CSAT, (1, 7)): 5,
    (Metric.CES, (1, 5)): 4,
    (Metric.CES, (1, 7)): 5,
    (Metric.NPS, (0, 10)): 9,
}

NPS_DETRACTOR_MAX = 6

Key = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# The names texts.render fills: "{agent}" in a text, `agent` here.
PlaceholderName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]

# A channel's name as a fallback order lists it; bot checks it against the channels it has.
ChannelKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
MAX_CHANNELS = 10

# Checked by Survey._themes rather than by a Field pattern, so that a bad name gets a sentence.
ThemeName = str
ThemeTerms = list[str] | dict[str, list[str]]
"""A theme's keywords or example comments: one list for any language, or locale → list."""
_THEME_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_THEMES = 30
MAX_THEME_TERMS = 50
MAX_THEME_TERM_LENGTH = 200


class ScaleLabels(BaseModel):
    """Words shown at the two ends of the scale ("Not at all likely" … "Extremely likely")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: LocalizedText
    high: LocalizedText


class Reminders(BaseModel):
    """How many reminders an unanswered question gets, and on which channel.

    `channel: same` reminds where the question went; `next` sends each reminder on the next
    channel of the survey's (or the trigger's) fallback order that reaches the person by itself,
    and where none is left, where the conversation is. A plain number is `{count: number}`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=1, ge=0, le=5)
    channel: Literal["same", "next"] = "same"


def _reminders_shape(value: Reminders) -> int | dict[str, Any]:
    """Stored and shown as a plain count unless the channel is set: surveys saved before the
    mapping read back as they were written."""
    if value.channel == "same":
        return value.count
    return {"count": value.count, "channel": value.channel}


class Survey(BaseModel):
    """A survey: one question on one metric, and the short conversation around it.

    Band-dependent texts (`follow_up`, `thank_you`) are either one text for every band or a
    mapping of band → text; bands are detractor/passive/promoter for NPS and
    negative/neutral/positive for CSAT and CES.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Key
    metric: Metric
    scale: tuple[int, int] | None = None
    positive_from: int | None = None
    question: LocalizedText | None = None
    default_locale: str = "en"
    follow_up: LocalizedText | dict[Band, LocalizedText] | None = None
    thank_you: LocalizedText | dict[Band, LocalizedText] | None = None
    reasons: list[LocalizedText] = Field(default_factory=list, max_length=10)
    reasons_for: list[Band] | None = None
    labels: ScaleLabels | None = None
    ask_comment: bool = True
    throttle_days: int = Field(default=30, ge=0, le=3650)
    expires_after_hours: int | None = Field(default=None, gt=0, le=24 * 365)
    sample_rate: float = Field(default=1.0, ge=0, le=1)
    # Reminders go to people who have not answered yet (on the question's channel, or the next).
    reminders: Annotated[Reminders, PlainSerializer(_reminders_shape)] = Reminders()
    remind_after_hours: float = Field(default=48, gt=0, le=24 * 90)
    timezone: str = "UTC"
    quiet_hours: dict[str, tuple[str, str] | None] | None = None
    # What a {placeholder} shows when neither the trigger's nor the contact's properties fill it.
    placeholders: dict[PlaceholderName, LocalizedText] = Field(default_factory=dict)
    # The fallback order: a send that fails for good moves on to the next channel.
    channels: list[ChannelKey] | None = Field(default=None, min_length=1, max_length=MAX_CHANNELS)
    # Only bot.insight.themes reads these; the domain keeps them well-formed and bounded.
    themes: dict[ThemeName, ThemeTerms] = Field(default_factory=dict)
    # The approved templates that open a WhatsApp conversation (surveys.whatsapp).
    whatsapp: WhatsAppOptions | None = None

    _uses: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_zone(value)

    @field_validator("quiet_hours")
    @classmethod
    def _windows(
        cls, value: dict[str, tuple[str, str] | None] | None
    ) -> dict[str, tuple[str, str] | None] | None:
        for channel, window in (value or {}).items():
            if window is not None:
                try:
                    Window.parse(*window)
                except ValueError as exc:
                    shown = ", ".join(repr(w) for w in window)
                    raise ValueError(
                        f'the {channel} window [{shown}] is not a send window: use ["HH:MM", "HH:MM"]'
                        " with different times"
                    ) from exc
        return value

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminder_count(cls, value: Any) -> Any:
        # `reminders: 2`, the shape every survey had before the mapping: the count alone.
        if isinstance(value, int) and not isinstance(value, bool):
            return {"count": value}
        return value

    @field_validator("channels")
    @classmethod
    def _order(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            repeated = sorted({name for name in value if value.count(name) > 1})
            if repeated:
                raise ValueError(f"{', '.join(repeated)} is listed twice; name each channel once")
        return value

    @field_validator("placeholders")
    @classmethod
    def _defaults(cls, value: dict[str, LocalizedText]) -> dict[str, LocalizedText]:
        for name, default in value.items():
            if isinstance(default, dict) and not default:
                raise ValueError(f"{name}: give a text, or at least one locale with its text")
        return value

    @field_validator("themes")
    @classmethod
    def _themes(cls, value: dict[str, ThemeTerms]) -> dict[str, ThemeTerms]:
        if len(value) > MAX_THEMES:
            raise ValueError(f"at most {MAX_THEMES} themes, not {len(value)}")
        for name, terms in value.items():
            if not _THEME_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a theme name: use lower-case letters, digits, '_', '.' and '-'"
                    " (up to 64, starting with a letter or digit), e.g. ease_of_use"
                )
            if isinstance(terms, list):
                _check_terms(name, terms)
                continue
            if not terms:
                raise ValueError(
                    f"{name}: give a list of terms, or at least one locale with its list"
                )
            for locale, listed in terms.items():
                if normalize_locale(locale) is None:
                    raise ValueError(f"{name}: {locale!r} is not a locale (en, fi, zh-Hant, …)")
                _check_terms(f"{name}: {locale}", listed)
        return value

    def reminder_delay(self, number: int) -> float:
        """Hours after the question that reminder `number` (1, 2, …) is due."""
        return self.remind_after_hours * number

    def send_window(self, channel: str, default: tuple[str, str] | None = None) -> Window | None:
        """The local times this survey may send on a channel (None: any time).

        `default` is the channel's own window; given windows replace the defaults entirely:
        `quiet_hours: {}` means none at all.
        """
        if self.quiet_hours is None:
            window = default
        else:
            window = self.quiet_hours.get(channel)
        return Window.parse(*window) if window else None

    @field_validator("question", "default_locale")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be blank")
        if isinstance(value, dict):
            if not value:
                raise ValueError("must name at least one locale")
            for locale, text in value.items():
                if not str(locale).strip() or not str(text).strip():
                    raise ValueError("locales and texts must not be blank")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Survey:
        scale = self.scale or DEFAULT_SCALE[self.metric]
        low, high = scale
        if scale not in ALLOWED_SCALES:
            allowed = ", ".join(f"{a}-{b}" for a, b in ALLOWED_SCALES)
            raise ValueError(f"scale: {low}-{high} is not supported; use one of {allowed}")
        if self.metric is Metric.NPS and scale != (0, 10):
            raise ValueError("scale: an NPS survey is always on 0-10")
        positive_from = self.positive_from
        if positive_from is None:
            positive_from = DEFAULT_POSITIVE_FROM.get((self.metric, scale))
            if positive_from is None:
                raise ValueError(
                    f"positive_from: required for a {self.metric.value} survey on {low}-{high}"
                    " (the lowest score that counts as positive)"
                )
        if not low < positive_from <= high:
            raise ValueError(f"positive_from: must be above {low} and at most {high}")
        if self.metric is Metric.NPS and positive_from != 9:
            raise ValueError("positive_from: NPS promoters are always 9-10")
        bands = set(self.bands)
        for name in ("follow_up", "thank_you"):
            value = getattr(self, name)
            if isinstance(value, dict) and set(value) & set(_ALL_BANDS):
                unknown = set(value) - bands
                if unknown:
                    raise ValueError(f"{name}: bands {sorted(unknown)} do not apply to this metric")
        if self.reasons_for is not None and set(self.reasons_for) - bands:
            raise ValueError("reasons_for: bands do not apply to this metric")
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "positive_from", positive_from)
        self._uses = frozenset(name for text in self.texts() for name in placeholders_in(text))
        return self

    def texts(self) -> Iterator[str]:
        """Every text the survey's author wrote, in every locale (what placeholders appear in)."""
        values: list[Any] = [self.question, self.follow_up, self.thank_you, *self.reasons]
        if self.labels is not None:
            values += [self.labels.low, self.labels.high]
        if self.whatsapp is not None:
            values += self.whatsapp.texts()
        while values:
            value = values.pop()
            if isinstance(value, str):
                yield value
            elif isinstance(value, Mapping):
                values.extend(value.values())

    @property
    def uses(self) -> frozenset[str]:
        """The {placeholders} the survey's own texts use, in any locale."""
        return self._uses

    @property
    def low(self) -> int:
        return self.scale_range[0]

    @property
    def high(self) -> int:
        return self.scale_range[1]

    @property
    def scale_range(self) -> tuple[int, int]:
        assert self.scale is not None  # completed by the validator
        return self.scale

    @property
    def first_positive(self) -> int:
        assert self.positive_from is not None  # completed by the validator
        return self.positive_from

    @property
    def bands(self) -> tuple[Band, Band, Band]:
        if self.metric is Metric.NPS:
            return ("detractor", "passive", "promoter")
        return ("negative", "neutral", "positive")

    def band(self, score: int) -> Band:
        """The band a score falls in: NPS 0-6/7-8/9-10; CSAT/CES below, just below, from positive."""
        if self.metric is Metric.NPS:
            if score <= NPS_DETRACTOR_MAX:
                return "detractor"
            return "promoter" if score >= self.first_positive else "passive"
        if score >= self.first_positive:
            return "positive"
        if score == self.first_positive - 1 and score > self.low:
            return "neutral"
        return "negative"

    def is_positive(self, score: int) -> bool:
        return score >= self.first_positive

    def asks_reason(self, score: int) -> bool:
        """Whether the reasons list follows this score (by default after a low score)."""
        if not self.reasons:
            return False
        wanted = self.reasons_for
        if wanted is None:
            wanted = ["detractor"] if self.metric is Metric.NPS else ["negative"]
        return self.band(score) in wanted

    def band_text(self, value: Any, band: Band) -> LocalizedText | None:
        """Pick the text for a band from a one-for-all or a per-band setting."""
        if value is None or isinstance(value, str):
            return value
        if set(value) & set(_ALL_BANDS):
            return value.get(band)
        return value


_ALL_BANDS: tuple[Band, ...] = (
    "negative",
    "neutral",
    "positive",
    "detractor",
    "passive",
    "promoter",
)


def _check_terms(where: str, terms: list[str]) -> None:
    """Refuse a theme's list of terms that is empty, too long, or holds a blank or huge term."""
    if not 1 <= len(terms) <= MAX_THEME_TERMS:
        raise ValueError(f"{where}: give 1 to {MAX_THEME_TERMS} terms, not {len(terms)}")
    for term in terms:
        if not term.strip():
            raise ValueError(f"{where}: a term is blank")
        if len(term) > MAX_THEME_TERM_LENGTH:
            raise ValueError(
                f"{where}: {term[:30]!r}… is longer than {MAX_THEME_TERM_LENGTH} characters"
            )


def scale_change(old: Survey, new: Survey) -> Literal["metric", "scale"] | None:
    """The field that moves a survey's scale when `new` replaces `old`, or None if it stays.

    Stored answers were given on the old scale: after a change they fall outside it, or mean
    something else (a 5 of 5 is not a 5 of 7), so callers refuse it once answers exist.
    """
    if old.scale_range == new.scale_range:
        return None
    return "metric" if old.metric is not new.metric else "scale"


class SurveyFile(BaseModel):
    """The YAML file shape: `surveys:` followed by a list of surveys."""

    model_config = ConfigDict(extra="forbid")

    surveys: list[Survey] = Field(min_length=1)
