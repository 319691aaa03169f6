"""Scoring: turn score histograms counted by the database into CSAT, NPS and CES with margins."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from surveys.definitions import NPS_DETRACTOR_MAX, Metric

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""

SMALL_SAMPLE = 30
"""Below this many responses a score is flagged as a small sample."""

_NPS_SCALE = (0, 10)
_NPS_PROMOTER_MIN = 9


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """One metric over one set of responses, with its 95 % margin of error.

    `score` is % positive (0-100) for CSAT and CES and promoters minus detractors (-100..100) for
    NPS; `score`, `average`, `margin_of_error` and `interval` are None without responses, and are
    never rounded here (rounding is the display's job).
    """

    metric: str
    responses: int
    score: float | None
    average: float | None
    margin_of_error: float | None
    interval: tuple[float, float] | None
    small_sample: bool
    distribution: dict[int, int]
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    positive: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The report object (JSON-ready: a list for the interval, string keys for scores)."""
        report: dict[str, object] = {
            "metric": self.metric,
            "responses": self.responses,
            "score": self.score,
            "average": self.average,
            "margin_of_error": self.margin_of_error,
            "interval": list(self.interval) if self.interval is not None else None,
            "small_sample": self.small_sample,
            "distribution": {str(score): count for score, count in self.distribution.items()},
        }
        if self.metric == Metric.NPS:
            report["promoters"] = self.promoters
            report["passives"] = self.passives
            report["detractors"] = self.detractors
        else:
            report["positive"] = self.positive
        return report


@dataclass(frozen=True, slots=True)
class PeriodChange:
    """The change of a score between two periods and whether it is more than noise.

    `difference` is current minus previous in the score's units (percentage points for CSAT and
    CES, NPS points); all None, and not significant, when either period has no responses.
    """

    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool


def merge_histograms(*hs: Mapping[int, int]) -> dict[int, int]:
    """Add histograms up score by score (e.g. segments into a total), keys in order."""
    merged: dict[int, int] = {}
    for histogram in hs:
        for score, count in histogram.items():
            merged[score] = merged.get(score, 0) + count
    return dict(sorted(merged.items()))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share, as shares (0..1)."""
    centre, half_width = _wilson(successes, n, z)
    # At 0 or n successes the bound is exactly 0 or 1; float rounding would miss it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


def nps_margin(promoter_share: float, detractor_share: float, n: int, z: float = Z95) -> float:
    """The half-width of the NPS confidence interval, in NPS points."""
    if n <= 0:
        raise ValueError("n must be positive")
    return 100.0 * z * math.sqrt(_nps_variance(promoter_share, detractor_share) / n)


def sample_size(margin: float, share: float = 0.5, z: float = Z95) -> int:
    """Responses needed for a margin on a share, both as fractions (±5 points → margin=0.05).

    share=0.5 is the worst case, for when nothing is known yet. At least 1.
    """
    if not 0.0 < margin < 1.0:
        raise ValueError("margin must be a fraction between 0 and 1, e.g. 0.05")
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be a fraction between 0 and 1")
    # Rounded first so float noise in an exact case (384.0000000001) does not add a response.
    needed = round(z * z * share * (1.0 - share) / (margin * margin), 9)
    return max(1, math.ceil(needed))


def summarize(
    metric: str, scale: tuple[int, int], positive_from: int, histogram: Mapping[int, int]
) -> ScoreSummary:
    """The metric, its counts and its margin of error from a score → count histogram.

    A score outside the scale or a negative count raises ValueError: stored answers were validated
    against the scale, so either means corrupt data or a caller bug, not bad input.
    """
    kind = Metric(metric)
    low, high = scale
    if not low < positive_from <= high:
        raise ValueError(f"positive_from {positive_from} is not within the scale {low}-{high}")
    if kind is Metric.NPS and (scale != _NPS_SCALE or positive_from != _NPS_PROMOTER_MIN):
        raise ValueError("NPS is scored on 0-10 with promoters from 9")
    for point, count in histogram.items():
        if not low <= point <= high:
            raise ValueError(f"score {point} is outside the scale {low}-{high}")
        if count < 0:
            raise ValueError(f"score {point} has a negative count {count}")

    distribution = {point: histogram.get(point, 0) for point in range(low, high + 1)}
    n = sum(distribution.values())
    average = sum(s * c for s, c in distribution.items()) / n if n else None
    score: float | None = None
    margin: float | None = None
    interval: tuple[float, float] | None = None

    if kind is Metric.NPS:
        promoters = sum(c for s, c in distribution.items() if s >= _NPS_PROMOTER_MIN)
        detractors = sum(c for s, c in distribution.items() if s <= NPS_DETRACTOR_MAX)
        passives = n - promoters - detractors
        if n:
            # From the counts, not the shares, so 30 - 20 of 100 is exactly 10.0.
            score = 100.0 * (promoters - detractors) / n
            margin = nps_margin(promoters / n, detractors / n, n)
            interval = (max(-100.0, score - margin), min(100.0, score + margin))
        return ScoreSummary(
            metric=kind.value,
            responses=n,
            score=score,
            average=average,
            margin_of_error=margin,
            interval=interval,
            small_sample=n < SMALL_SAMPLE,
            distribution=distribution,
            promoters=promoters,
            passives=passives,
            detractors=detractors,
        )

    positive = sum(c for s, c in distribution.items() if s >= positive_from)
    if n:
        score = 100.0 * positive / n
        _, half_width = _wilson(positive, n, Z95)
        margin = 100.0 * half_width
        lo, hi = wilson_interval(positive, n)
        interval = (100.0 * lo, 100.0 * hi)
    return ScoreSummary(
        metric=kind.value,
        responses=n,
        score=score,
        average=average,
        margin_of_error=margin,
        interval=interval,
        small_sample=n < SMALL_SAMPLE,
        distribution=distribution,
        positive=positive,
    )


def compare_periods(previous: ScoreSummary, current: ScoreSummary) -> PeriodChange:
    """Test whether a score moved between two periods (two-sided, at the 0.05 level).

    CSAT/CES: two-proportion z-test with the pooled share. NPS: z = (NPS₂ − NPS₁) / √(v₁/n₁ + v₂/n₂)
    in share units, v the per-answer variance of each period.
    """
    if previous.metric != current.metric:
        raise ValueError(f"cannot compare {previous.metric} with {current.metric}")
    n1, n2 = previous.responses, current.responses
    if n1 == 0 or n2 == 0 or previous.score is None or current.score is None:
        return PeriodChange(difference=None, z=None, p_value=None, significant=False)
    difference = current.score - previous.score

    if current.metric == Metric.NPS:
        p1, d1 = _nps_shares(previous)
        p2, d2 = _nps_shares(current)
        variance = _nps_variance(p1, d1) / n1 + _nps_variance(p2, d2) / n2
        if variance == 0.0:
            # Every answer of each period sits in one group (e.g. all promoters, then all
            # detractors): the unpooled variance is 0, so borrow the pooled one to keep z finite.
            p = (p1 * n1 + p2 * n2) / (n1 + n2)
            d = (d1 * n1 + d2 * n2) / (n1 + n2)
            variance = _nps_variance(p, d) * (1 / n1 + 1 / n2)
    else:
        pooled = ((previous.positive or 0) + (current.positive or 0)) / (n1 + n2)
        variance = pooled * (1.0 - pooled) * (1 / n1 + 1 / n2)

    if variance == 0.0:
        # Both periods alike at an extreme (all positive, or all one NPS group): no change at all.
        z = 0.0
    else:
        z = (difference / 100.0) / math.sqrt(variance)
    p_value = math.erfc(abs(z) / math.sqrt(2.0))
    return PeriodChange(difference=difference, z=z, p_value=p_value, significant=p_value < 0.05)


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Centre and half-width of the Wilson interval (the centre is pulled towards 1/2)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n})")
    share = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(share * (1.0 - share) / n + z2 / (4 * n * n)) / denominator
    return centre, half_width


def _nps_variance(promoter_share: float, detractor_share: float) -> float:
    """The variance of one answer scored +1 / 0 / -1: p + d - (p - d)²."""
    if not (0.0 <= promoter_share <= 1.0 and 0.0 <= detractor_share <= 1.0):
        raise ValueError("shares must be between 0 and 1")
    if promoter_share + detractor_share > 1.0 + 1e-9:
        raise ValueError("promoter and detractor shares add up to more than 1")
    # Clamped: float rounding can leave a hair below zero when every answer is in one group.
    spread = promoter_share - detractor_share
    return max(0.0, promoter_share + detractor_share - spread * spread)


def _nps_shares(summary: ScoreSummary) -> tuple[float, float]:
    n = summary.responses
    return (summary.promoters or 0) / n, (summary.detractors or 0) / n
