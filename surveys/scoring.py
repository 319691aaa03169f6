"""Scoring: turn score histograms counted by the database into CSAT, NPS and CES with intervals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys.definitions import NPS_DETRACTOR_MAX, Metric
from surveys.statistics import (
    Z95,
    AdjustedNps,
    Moments,
    Test,
    compare_means,
    compare_nps,
    compare_shares,
    mean_interval,
    nps_sample_size,
    share_sample_size,
    wilson,
)

SMALL_SAMPLE = 30
"""Below this many responses a score is flagged as a small sample."""

TARGET_MARGIN = 5.0
"""The margin (in points) a report says how many responses it would take to reach."""

_NPS_SCALE = (0, 10)
_NPS_PROMOTER_MIN = 9
METHODS = {Metric.NPS: "adjusted-wald", Metric.CSAT: "wilson", Metric.CES: "wilson"}


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """One metric over one set of responses, with its 95 % interval.

    `score` is % positive (0-100) for CSAT and CES and promoters minus detractors (-100..100) for
    NPS. `interval` is the adjusted-Wald interval for NPS and the Wilson interval for CSAT/CES (so
    it is not centred on the score); `margin_of_error` is its half-width. `average_interval` is
    the t-interval of the mean score. `responses_needed` is how many responses would bring the
    margin to ±5 points at the shares seen (the worst case without responses). Values are None
    without responses and never rounded here (rounding is the display's job).
    """

    metric: str
    responses: int
    score: float | None
    average: float | None
    margin_of_error: float | None
    interval: tuple[float, float] | None
    average_interval: tuple[float, float] | None
    small_sample: bool
    distribution: dict[int, int]
    responses_needed: int
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    positive: int | None = None

    @property
    def interval_method(self) -> str:
        return METHODS[Metric(self.metric)]

    @property
    def more_needed(self) -> int:
        return max(0, self.responses_needed - self.responses)

    def as_dict(self) -> dict[str, object]:
        """The report object (JSON-ready: lists for intervals, string keys for scores)."""
        report: dict[str, object] = {
            "metric": self.metric,
            "responses": self.responses,
            "score": self.score,
            "average": self.average,
            "margin_of_error": self.margin_of_error,
            "interval": list(self.interval) if self.interval is not None else None,
            "interval_method": self.interval_method,
            "average_interval": (
                list(self.average_interval) if self.average_interval is not None else None
            ),
            "small_sample": self.small_sample,
            "n_needed": {
                "margin": TARGET_MARGIN,
                "responses": self.responses_needed,
                "more": self.more_needed,
            },
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
    CES, NPS points), `interval` its 95 % interval, `test` the test's name (two-proportion
    z-test, or adjusted-Wald z-test for NPS). `average` is Welch's t-test of the mean score. All
    None, and not significant, when either period has no responses.
    """

    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool
    test: str | None = None
    interval: tuple[float, float] | None = None
    average: Test | None = None

    def as_dict(self) -> dict[str, Any]:
        mean = self.average
        return {
            "difference": self.difference,
            "interval": list(self.interval) if self.interval is not None else None,
            "test": self.test,
            "z": self.z,
            "p_value": self.p_value,
            "significant": self.significant,
            "average": None
            if mean is None
            else {
                "difference": mean.difference,
                "interval": list(mean.interval) if mean.interval else None,
                "test": mean.name,
                "t": mean.statistic if abs(mean.statistic) != float("inf") else None,
                "df": mean.df,
                "p_value": mean.p_value,
                "significant": mean.significant,
            },
        }


def merge_histograms(*hs: Mapping[int, int]) -> dict[int, int]:
    """Add histograms up score by score (e.g. segments into a total), keys in order."""
    merged: dict[int, int] = {}
    for histogram in hs:
        for score, count in histogram.items():
            merged[score] = merged.get(score, 0) + count
    return dict(sorted(merged.items()))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share, as shares (0..1)."""
    return wilson(successes, n, z)


def sample_size(margin: float, share: float = 0.5, z: float = Z95) -> int:
    """Responses needed for a margin on a share, both as fractions (±5 points → margin=0.05).

    share=0.5 is the worst case, for when nothing is known yet. At least 1.
    """
    return share_sample_size(margin, share, z)


def summarize(
    metric: str, scale: tuple[int, int], positive_from: int, histogram: Mapping[int, int]
) -> ScoreSummary:
    """The metric, its counts and its interval from a score → count histogram.

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
    moments = Moments.of(distribution)
    n = moments.n
    common: dict[str, Any] = {
        "metric": kind.value,
        "responses": n,
        "average": moments.mean,
        "average_interval": mean_interval(moments),
        "small_sample": n < SMALL_SAMPLE,
        "distribution": distribution,
    }
    target = TARGET_MARGIN / 100.0
    score: float | None = None
    margin: float | None = None
    interval: tuple[float, float] | None = None

    if kind is Metric.NPS:
        promoters = sum(c for s, c in distribution.items() if s >= _NPS_PROMOTER_MIN)
        detractors = sum(c for s, c in distribution.items() if s <= NPS_DETRACTOR_MAX)
        if n:
            # From the counts, not the shares, so 30 - 20 of 100 is exactly 10.0.
            score = 100.0 * (promoters - detractors) / n
            adjusted = AdjustedNps.of(promoters, detractors, n)
            margin = 100.0 * Z95 * adjusted.se
            interval = adjusted.interval()
            needed = nps_sample_size(target, promoters / n, detractors / n)
        else:
            needed = nps_sample_size(target)
        return ScoreSummary(
            **common,
            score=score,
            margin_of_error=margin,
            interval=interval,
            responses_needed=needed,
            promoters=promoters,
            passives=n - promoters - detractors,
            detractors=detractors,
        )

    positive = sum(c for s, c in distribution.items() if s >= positive_from)
    needed = share_sample_size(target, positive / n if n else 0.5)
    if n:
        score = 100.0 * positive / n
        lo, hi = wilson(positive, n)
        interval = (100.0 * lo, 100.0 * hi)
        margin = (interval[1] - interval[0]) / 2.0
    return ScoreSummary(
        **common,
        score=score,
        margin_of_error=margin,
        interval=interval,
        responses_needed=needed,
        positive=positive,
    )


def compare_periods(previous: ScoreSummary, current: ScoreSummary) -> PeriodChange:
    """Test whether a score moved between two periods (two-sided, at the 0.05 level).

    CSAT/CES: two-proportion z-test with the pooled share. NPS: the adjusted-Wald z-test,
    z = (NPS′₂ − NPS′₁) / √(SE₁² + SE₂²). The mean score: Welch's t-test.
    """
    if previous.metric != current.metric:
        raise ValueError(f"cannot compare {previous.metric} with {current.metric}")
    n1, n2 = previous.responses, current.responses
    if n1 == 0 or n2 == 0:
        return PeriodChange(difference=None, z=None, p_value=None, significant=False)
    if current.metric == Metric.NPS:
        test = compare_nps(
            (previous.promoters or 0, previous.detractors or 0, n1),
            (current.promoters or 0, current.detractors or 0, n2),
        )
    else:
        test = compare_shares((previous.positive or 0, current.positive or 0), (n1, n2))
    average = compare_means(Moments.of(previous.distribution), Moments.of(current.distribution))
    return PeriodChange(
        difference=test.difference,
        z=test.statistic,
        p_value=test.p_value,
        significant=test.significant,
        test=test.name,
        interval=test.interval,
        average=average,
    )
