"""The filters every insight view shares (scores, comments, themes, export, the dashboard).

One shape, read from a query string (`channel=sms&property.plan=pro&band=detractor`) or from
the command line's options, so the API, the CLI and the dashboard select the same responses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from bot.errors import Unprocessable
from surveys.definitions import Survey

BANDS = ("promoter", "passive", "detractor", "positive", "neutral", "negative")
PROPERTY_PREFIX = "property."
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_VALUES = 50  # values of one filter (any of them matches)
MAX_TEXT = 200  # characters of a text search
# The query parameters a view reads itself; every other one is refused by name.
VIEW_PARAMETERS = frozenset(
    {"from", "to", "channel", "reason", "band", "q", "group_by", "compare", "compare_from",
     "compare_to", "limit", "offset", "format", "survey", "granularity", "segment", "sort", "propose",
     "order"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filters:
    """Which responses a view counts: a period and any of the values of each field given.

    `since` is inclusive and `until` exclusive (UTC); empty tuples mean "any". `band` selects a
    score band; `text` a case-insensitive search in comments.
    """

    since: datetime | None = None
    until: datetime | None = None
    channels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    band: str | None = None
    properties: tuple[tuple[str, tuple[str, ...]], ...] = ()
    text: str | None = None

    def with_period(self, since: datetime | None, until: datetime | None) -> Filters:
        """The same filters over another period (for the comparison)."""
        return replace(self, since=since, until=until)

    def without_band(self) -> Filters:
        return replace(self, band=None)

    @property
    def selects_fields(self) -> bool:
        """Whether any field besides the period is filtered (the funnel then counts a subset)."""
        return bool(self.channels or self.reasons or self.band or self.properties or self.text)

    def query(self) -> dict[str, list[str]]:
        """The filters as query parameters, for links that keep them (the period as dates)."""
        params: dict[str, list[str]] = {}
        if self.channels:
            params["channel"] = list(self.channels)
        if self.reasons:
            params["reason"] = list(self.reasons)
        if self.band:
            params["band"] = [self.band]
        for name, values in self.properties:
            params[PROPERTY_PREFIX + name] = list(values)
        if self.text:
            params["q"] = [self.text]
        return params

    def query_string(self) -> str:
        return urlencode([(k, v) for k, vs in self.query().items() for v in vs])

    def describe(self) -> str:
        """The filters in a few words, for headings and CLI titles ("" when none)."""
        parts = []
        if self.channels:
            parts.append("channel " + " or ".join(self.channels))
        if self.reasons:
            parts.append("reason " + " or ".join(self.reasons))
        if self.band:
            parts.append(self.band + "s" if self.band in ("promoter", "detractor") else self.band)
        for name, values in self.properties:
            parts.append(f"{name} = " + " or ".join(values))
        if self.text:
            parts.append(f"comments containing {self.text!r}")
        return ", ".join(parts)


def band_range(survey: Survey, band: str) -> tuple[int, int]:
    """The scores (low, high, inclusive) of a band on the survey's scale; Unprocessable naming
    `band` for one that does not apply (an NPS band on a CSAT survey, neutral on 1-3 …).

    On an NPS survey `positive` means promoters and `negative` detractors, so one link works for
    every survey of a dashboard.
    """
    low, high = survey.scale_range
    first = survey.first_positive
    if survey.metric.value == "nps":
        ranges = {
            "detractor": (0, 6),
            "passive": (7, 8),
            "promoter": (9, 10),
            "negative": (0, 6),
            "positive": (9, 10),
        }
    else:
        ranges = {"positive": (first, high), "negative": (low, first - 1)}
        if first - 1 > low:
            ranges["neutral"] = (first - 1, first - 1)
            ranges["negative"] = (low, first - 2)
    if band not in ranges:
        raise Unprocessable(
            f"band {band!r} does not apply to this {survey.metric.value.upper()} survey;"
            f" use {', '.join(sorted(ranges))}",
            field="band",
        )
    return ranges[band]


def parse(
    params: Mapping[str, Sequence[str]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    allowed: Iterable[str] = VIEW_PARAMETERS,
) -> Filters:
    """The filters a query string names; Unprocessable naming the parameter that is wrong.

    Values of a field may repeat or be comma-separated (`channel=sms,email`): any of them
    matches. Unknown parameters are refused, so a typo (`chanel=sms`) is not silently ignored.
    """
    known = frozenset(allowed)
    properties: dict[str, list[str]] = {}
    for name, values in params.items():
        if name.startswith(PROPERTY_PREFIX):
            prop = name[len(PROPERTY_PREFIX) :]
            if not PROPERTY_NAME.match(prop):
                raise Unprocessable(
                    f"{name}: a property name is 1-64 letters, digits, '_', '.' or '-'",
                    field=name,
                )
            properties.setdefault(prop, []).extend(_values(name, values))
        elif name not in known:
            raise Unprocessable(
                f"unknown parameter {name!r}: filter with channel, reason, band, q, from, to or"
                " property.NAME",
                field=name,
            )
    band = _single("band", params.get("band"))
    if band is not None and band not in BANDS:
        raise Unprocessable(f"band must be one of {', '.join(BANDS)}", field="band")
    text = _single("q", params.get("q"))
    if text is not None and len(text) > MAX_TEXT:
        raise Unprocessable(f"q: a search is at most {MAX_TEXT} characters", field="q")
    return Filters(
        since=since,
        until=until,
        channels=tuple(_values("channel", params.get("channel", ()))),
        reasons=tuple(_values("reason", params.get("reason", ()), split=False)),
        band=band,
        properties=tuple((k, tuple(v)) for k, v in sorted(properties.items())),
        text=text,
    )


def from_options(
    *,
    since: datetime | None,
    until: datetime | None,
    channels: Sequence[str] = (),
    reasons: Sequence[str] = (),
    band: str | None = None,
    properties: Sequence[str] = (),
    text: str | None = None,
) -> Filters:
    """The filters the command line names (`--property plan=pro`, repeatable), checked alike."""
    params: dict[str, list[str]] = {}
    if channels:
        params["channel"] = list(channels)
    if reasons:
        params["reason"] = list(reasons)
    if band:
        params["band"] = [band]
    if text:
        params["q"] = [text]
    for item in properties:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise Unprocessable(
                f"--property {item!r}: write NAME=VALUE, e.g. --property plan=pro",
                field="property",
            )
        params.setdefault(PROPERTY_PREFIX + name.strip(), []).append(value)
    return parse(params, since=since, until=until)


def _values(name: str, values: Iterable[str], *, split: bool = True) -> list[str]:
    found: list[str] = []
    for value in values:
        parts = value.split(",") if split else [value]
        found.extend(part.strip() for part in parts if part.strip())
    if len(found) > MAX_VALUES:
        raise Unprocessable(f"{name}: at most {MAX_VALUES} values", field=name)
    for value in found:
        if len(value) > 255:
            raise Unprocessable(f"{name}: a value is at most 255 characters", field=name)
    return list(dict.fromkeys(found))


def _single(name: str, values: Sequence[str] | None) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise Unprocessable(f"{name} may be given once", field=name)
    value = values[0].strip()
    return value or None
