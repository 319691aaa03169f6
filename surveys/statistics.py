"""The statistics behind honest scores: intervals with good coverage at small n and tests of change.

Pure functions of counts (standard library only). Sources: Wilson (1927) for a share, Newcombe
(1998, method 10) for the difference of two shares, the adjusted-Wald NPS interval of Rocks
(2016, The American Statistician 70(4)) for NPS and its change, Student's t for a mean and
Welch's t-test for the change of a mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

Z95 = 1.959963984540054
"""The two-sided 95 % normal quantile."""

ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, mean and sample variance of the scores in a histogram (variance None below n 2)."""

    n: int
    mean: float | None
    variance: float | None

    @classmethod
    def of(cls, histogram: Mapping[int, int]) -> Moments:
        n = sum(histogram.values())
        if n == 0:
            return cls(0, None, None)
        mean = sum(score * count for score, count in histogram.items()) / n
        if n < 2:
            return cls(n, mean, None)
        squares = sum(count * (score - mean) ** 2 for score, count in histogram.items())
        return cls(n, mean, squares / (n - 1))


@dataclass(frozen=True, slots=True)
class Test:
    """A two-sided test of "no change": its name, statistic, p-value and the verdict at 95 %.

    `interval` is the 95 % interval of the difference (current minus previous), in the units of
    `difference`.
    """

    name: str
    difference: float
    interval: tuple[float, float] | None
    statistic: float
    p_value: float
    df: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def normal_p_value(z: float) -> float:
    """The two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share, as shares (0..1)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n})")
    share = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(share * (1.0 - share) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes the bound is exactly 0 or 1; float rounding would miss it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


@dataclass(frozen=True, slots=True)
class AdjustedNps:
    """NPS′ and its standard error after adding ¾ promoter and ¾ detractor (n + 3), as shares."""

    nps: float
    se: float

    @classmethod
    def of(cls, promoters: int, detractors: int, n: int) -> AdjustedNps:
        if n < 0 or promoters < 0 or detractors < 0 or promoters + detractors > n:
            raise ValueError("counts must satisfy 0 <= promoters + detractors <= n")
        adjusted = n + 3
        p = (promoters + 0.75) / adjusted
        d = (detractors + 0.75) / adjusted
        variance = max(0.0, p + d - (p - d) ** 2)
        return cls(nps=p - d, se=math.sqrt(variance / adjusted))

    def interval(self, z: float = Z95) -> tuple[float, float]:
        """The 95 % interval in NPS points (−100…100)."""
        low = 100.0 * (self.nps - z * self.se)
        high = 100.0 * (self.nps + z * self.se)
        return max(-100.0, low), min(100.0, high)


def compare_shares(successes: tuple[int, int], n: tuple[int, int]) -> Test:
    """Two-proportion z-test (pooled) of previous → current, with Newcombe's interval (points)."""
    (x1, x2), (n1, n2) = successes, n
    p1, p2 = x1 / n1, x2 / n2
    difference = 100.0 * (p2 - p1)
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1 / n1 + 1 / n2)
    # Both periods at the same extreme (all positive): no change at all.
    z = 0.0 if variance == 0.0 else (p2 - p1) / math.sqrt(variance)
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    low = (p2 - p1) - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = (p2 - p1) + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return Test(
        name="two-proportion z-test",
        difference=difference,
        interval=(100.0 * low, 100.0 * high),
        statistic=z,
        p_value=normal_p_value(z),
    )


def compare_nps(previous: tuple[int, int, int], current: tuple[int, int, int]) -> Test:
    """Adjusted-Wald z-test of an NPS change; each argument is (promoters, detractors, n).

    The difference is the plain NPS change; z and the interval use the adjusted NPS′ (Rocks 2016).
    """
    (p1, d1, n1), (p2, d2, n2) = previous, current
    before, after = AdjustedNps.of(p1, d1, n1), AdjustedNps.of(p2, d2, n2)
    se = math.sqrt(before.se**2 + after.se**2)
    shift = after.nps - before.nps
    z = shift / se
    return Test(
        name="adjusted-Wald z-test",
        difference=100.0 * ((p2 - d2) / n2 - (p1 - d1) / n1),
        interval=(100.0 * (shift - Z95 * se), 100.0 * (shift + Z95 * se)),
        statistic=z,
        p_value=normal_p_value(z),
    )


def compare_means(previous: Moments, current: Moments) -> Test | None:
    """Welch's t-test of a change of the mean score; None unless both periods have n ≥ 2."""
    if previous.variance is None or current.variance is None:
        return None
    assert previous.mean is not None and current.mean is not None
    difference = current.mean - previous.mean
    a, b = previous.variance / previous.n, current.variance / current.n
    if a + b == 0.0:
        # Every answer alike within each period: any difference is certain, none is no change.
        certain = difference != 0.0
        return Test(
            name="Welch t-test",
            difference=difference,
            interval=(difference, difference),
            statistic=math.copysign(math.inf, difference) if certain else 0.0,
            p_value=0.0 if certain else 1.0,
            df=float(previous.n + current.n - 2),
        )
    df = (a + b) ** 2 / (a * a / (previous.n - 1) + b * b / (current.n - 1))
    se = math.sqrt(a + b)
    t = difference / se
    half = t_quantile(0.975, df) * se
    return Test(
        name="Welch t-test",
        difference=difference,
        interval=(difference - half, difference + half),
        statistic=t,
        p_value=2.0 * t_sf(abs(t), df),
        df=df,
    )


def mean_interval(moments: Moments) -> tuple[float, float] | None:
    """The 95 % t-interval of the mean score; None below two answers."""
    if moments.variance is None or moments.mean is None:
        return None
    half = t_quantile(0.975, moments.n - 1) * math.sqrt(moments.variance / moments.n)
    return moments.mean - half, moments.mean + half


def share_sample_size(margin: float, share: float = 0.5, z: float = Z95) -> int:
    """Responses for a margin on a share, both fractions (±5 points → 0.05): z²p(1−p)/E²."""
    if not 0.0 < margin < 1.0:
        raise ValueError("margin must be a fraction between 0 and 1, e.g. 0.05")
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be a fraction between 0 and 1")
    # Rounded first so float noise in an exact case (384.0000000001) does not add a response.
    needed = round(z * z * share * (1.0 - share) / (margin * margin), 9)
    return max(1, math.ceil(needed))


def nps_sample_size(
    margin: float, promoters: float | None = None, detractors: float | None = None, z: float = Z95
) -> int:
    """Responses for an adjusted-Wald NPS margin (a fraction of 100 points: ±5 → 0.05).

    n = z²s²/E² − 3 with s² = p + d − (p − d)²; without shares, the worst case s² = 1.
    """
    if not 0.0 < margin < 1.0:
        raise ValueError("margin must be a fraction between 0 and 1, e.g. 0.05")
    if promoters is None or detractors is None:
        spread = 1.0
    else:
        spread = max(0.0, promoters + detractors - (promoters - detractors) ** 2)
    needed = round(z * z * spread / (margin * margin) - 3, 9)
    return max(1, math.ceil(needed))


def t_sf(t: float, df: float) -> float:
    """The upper tail P(T > t) of Student's t with `df` degrees of freedom (t ≥ 0)."""
    if df <= 0:
        raise ValueError("df must be positive")
    if math.isinf(t):
        return 0.0
    x = df / (df + t * t)
    return 0.5 * _incomplete_beta(df / 2.0, 0.5, x)


@lru_cache(maxsize=4096)
def t_quantile(probability: float, df: float) -> float:
    """The t value below which `probability` of Student's t lies (0.5 < probability < 1)."""
    if not 0.5 < probability < 1.0:
        raise ValueError("probability must be between 0.5 and 1")
    tail = 1.0 - probability
    low, high = 0.0, 1.0
    while t_sf(high, df) > tail:
        high *= 2.0
    for _ in range(200):  # bisection: the tail is monotone, and 200 halvings reach float precision
        middle = (low + high) / 2.0
        if t_sf(middle, df) > tail:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2.0


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast only below the mean; above it use the symmetry I_x = 1 − I_1−x.
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta, evaluated by the modified Lentz method."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result
