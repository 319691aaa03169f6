"""Tests of scoring: metrics from histograms, margins of error, period comparison, sample size."""

from __future__ import annotations

import math

import pytest

from surveys.definitions import Metric
from surveys.scoring import (
    Z95,
    PeriodChange,
    ScoreSummary,
    compare_periods,
    merge_histograms,
    sample_size,
    summarize,
    wilson_interval,
)

TIGHT = 1e-9


def csat(histogram: dict[int, int]) -> ScoreSummary:
    return summarize("csat", (1, 5), 4, histogram)


def nps(histogram: dict[int, int]) -> ScoreSummary:
    return summarize("nps", (0, 10), 9, histogram)


# --- the seed examples -------------------------------------------------------------------------


def test_csat_15_satisfied_of_25_is_60() -> None:
    summary = csat({5: 10, 4: 5, 3: 5, 2: 3, 1: 2})
    assert summary.responses == 25
    assert summary.positive == 15
    assert summary.score == pytest.approx(60.0, abs=TIGHT)


def test_csat_80_positive_of_112_is_71_43() -> None:
    summary = csat({5: 50, 4: 30, 3: 12, 2: 10, 1: 10})
    assert summary.responses == 112
    assert summary.positive == 80
    assert summary.score is not None
    assert round(summary.score, 2) == 71.43


def test_nps_30_50_20_is_10() -> None:
    summary = nps({10: 15, 9: 15, 8: 25, 7: 25, 6: 10, 3: 10})
    assert (summary.promoters, summary.passives, summary.detractors) == (30, 50, 20)
    assert summary.score == pytest.approx(10.0, abs=TIGHT)


def test_ces_on_1_to_7_counts_5_and_up() -> None:
    summary = summarize(Metric.CES, (1, 7), 5, {7: 3, 6: 3, 5: 2, 4: 1, 1: 1})
    assert summary.metric == "ces"
    assert summary.positive == 8
    assert summary.score == pytest.approx(80.0, abs=TIGHT)
    assert summary.average == pytest.approx(54 / 10, abs=TIGHT)


# --- margins against known values --------------------------------------------------------------


def test_nps_adjusted_wald_interval_n100_p50_d20_is_14_05_to_44_20() -> None:
    summary = nps({10: 50, 8: 30, 0: 20})
    assert summary.score == pytest.approx(30.0, abs=TIGHT)  # the score itself stays plain
    assert summary.interval is not None
    assert (round(summary.interval[0], 2), round(summary.interval[1], 2)) == (14.05, 44.20)
    assert summary.interval_method == "adjusted-wald"
    # The margin is the adjusted interval's half-width: n′ = 103, p′ = 50.75/103, d′ = 20.75/103.
    p, d = 50.75 / 103, 20.75 / 103
    assert summary.margin_of_error == pytest.approx(
        100 * Z95 * math.sqrt((p + d - (p - d) ** 2) / 103), abs=TIGHT
    )


def test_nps_adjusted_interval_is_centred_on_the_adjusted_score() -> None:
    summary = nps({10: 200, 8: 120, 0: 80})
    assert summary.interval is not None and summary.margin_of_error is not None
    p, d = 200.75 / 403, 80.75 / 403
    low, high = summary.interval
    assert (low + high) / 2 == pytest.approx(100 * (p - d), abs=TIGHT)
    assert round(summary.margin_of_error, 1) == 7.6  # near the plain Wald ±7.7 at n 400


def test_wilson_080_n100() -> None:
    low, high = wilson_interval(80, 100)
    assert (round(low, 3), round(high, 3)) == (0.711, 0.867)


def test_csat_margin_is_the_wilson_half_width_and_interval_is_not_centred_on_the_score() -> None:
    summary = csat({5: 80, 1: 20})
    low, high = wilson_interval(80, 100)
    assert summary.interval == pytest.approx((100 * low, 100 * high), abs=TIGHT)
    assert summary.margin_of_error == pytest.approx(100 * (high - low) / 2, abs=TIGHT)
    assert summary.interval is not None
    # Wilson pulls the centre towards 50 %, so the interval is lopsided around 80.
    assert 80.0 - summary.interval[0] > summary.interval[1] - 80.0


def test_sample_size_5_points_at_80_percent_is_246() -> None:
    assert sample_size(0.05, 0.8, z=1.96) == 246


def test_sample_size_worst_case_and_exact_values() -> None:
    assert sample_size(0.05, z=1.96) == 385  # 384.16
    assert sample_size(0.1, 0.5, z=2.0) == 100  # exactly 100, not 101 from float noise
    assert sample_size(0.05, 1.0) == 1


@pytest.mark.parametrize(("margin", "share"), [(0.0, 0.5), (5.0, 0.5), (0.05, 80.0), (0.05, -0.1)])
def test_sample_size_wants_fractions(margin: float, share: float) -> None:
    with pytest.raises(ValueError):
        sample_size(margin, share)


# --- edge cases --------------------------------------------------------------------------------


def test_zero_responses() -> None:
    for summary in (csat({}), nps({}), csat({5: 0, 1: 0})):
        assert summary.responses == 0
        assert summary.score is None
        assert summary.average is None
        assert summary.margin_of_error is None
        assert summary.interval is None
        assert summary.small_sample is True
    assert nps({}).promoters == 0
    assert csat({}).positive == 0


def test_all_promoters_still_has_an_honest_interval() -> None:
    # Plain Wald says ±0 here; the adjusted-Wald interval admits that 50 answers are not certainty.
    summary = nps({10: 40, 9: 10})
    assert summary.score == pytest.approx(100.0, abs=TIGHT)
    assert summary.interval is not None
    low, high = summary.interval
    assert high == 100.0
    assert 80.0 < low < 90.0


def test_nps_interval_is_clipped_to_the_scale() -> None:
    summary = nps({10: 2})  # 40 ± 64 around the adjusted score
    assert summary.interval is not None
    assert summary.interval[1] == 100.0
    assert -100.0 <= summary.interval[0]


def test_one_response() -> None:
    summary = csat({5: 1})
    assert summary.score == pytest.approx(100.0, abs=TIGHT)
    assert summary.average == pytest.approx(5.0, abs=TIGHT)
    assert summary.interval is not None
    low, high = summary.interval
    assert 0.0 < low < 100.0
    assert high == pytest.approx(100.0, abs=TIGHT)
    assert summary.small_sample is True

    detractor = nps({0: 1})
    assert detractor.score == pytest.approx(-100.0, abs=TIGHT)
    assert detractor.interval is not None
    assert detractor.interval[0] < -90.0 and detractor.interval[1] > 0.0  # one answer says little
    assert detractor.average_interval is None  # no spread from one answer


def test_distribution_is_zero_filled_over_the_scale() -> None:
    assert csat({5: 2}).distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 2}
    assert list(nps({7: 1}).distribution) == list(range(11))


@pytest.mark.parametrize("histogram", [{6: 1}, {0: 1}, {-1: 2, 3: 1}])
def test_scores_outside_the_scale_raise(histogram: dict[int, int]) -> None:
    with pytest.raises(ValueError, match="outside the scale"):
        csat(histogram)


def test_negative_counts_raise() -> None:
    with pytest.raises(ValueError, match="negative"):
        csat({5: -1})


def test_invalid_metric_settings_raise() -> None:
    with pytest.raises(ValueError):
        summarize("stars", (1, 5), 4, {})
    with pytest.raises(ValueError):
        summarize("nps", (1, 10), 9, {})
    with pytest.raises(ValueError):
        summarize("csat", (1, 5), 6, {})


def test_small_sample_flag_at_29_and_30() -> None:
    assert csat({5: 29}).small_sample is True
    assert csat({5: 30}).small_sample is False
    assert nps({9: 29}).small_sample is True
    assert nps({9: 30}).small_sample is False


def test_as_dict_for_nps() -> None:
    report = nps({10: 3, 7: 1, 2: 1}).as_dict()
    assert set(report) == {
        "metric",
        "responses",
        "score",
        "average",
        "margin_of_error",
        "interval",
        "interval_method",
        "average_interval",
        "n_needed",
        "small_sample",
        "distribution",
        "promoters",
        "passives",
        "detractors",
    }
    assert report["metric"] == "nps"
    assert (report["promoters"], report["passives"], report["detractors"]) == (3, 1, 1)
    assert isinstance(report["interval"], list) and len(report["interval"]) == 2
    assert report["distribution"] == {str(s): {10: 3, 7: 1, 2: 1}.get(s, 0) for s in range(11)}


def test_as_dict_for_csat_and_ces() -> None:
    for summary in (csat({4: 2, 2: 1}), summarize("ces", (1, 7), 5, {6: 1})):
        report = summary.as_dict()
        assert set(report) == {
            "metric",
            "responses",
            "score",
            "average",
            "margin_of_error",
            "interval",
            "interval_method",
            "average_interval",
            "n_needed",
            "small_sample",
            "distribution",
            "positive",
        }
        distribution = report["distribution"]
        assert isinstance(distribution, dict)
        assert all(isinstance(key, str) for key in distribution)
    assert csat({4: 2, 2: 1}).as_dict()["positive"] == 2


def test_as_dict_without_responses() -> None:
    report = csat({}).as_dict()
    assert report["score"] is None
    assert report["interval"] is None
    assert report["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


# --- helpers -----------------------------------------------------------------------------------


def test_merge_histograms() -> None:
    assert merge_histograms({5: 1, 4: 2}, {}, {4: 1, 1: 3}) == {1: 3, 4: 3, 5: 1}
    assert merge_histograms() == {}


def test_wilson_extremes_stay_within_0_and_1() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(1, 0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


# --- comparing periods -------------------------------------------------------------------------


def test_compare_csat_two_proportion_z_test() -> None:
    change = compare_periods(csat({5: 80, 1: 20}), csat({5: 90, 1: 10}))
    pooled = 170 / 200
    z = 0.10 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert change.difference == pytest.approx(10.0, abs=TIGHT)
    assert change.z == pytest.approx(z, abs=TIGHT)
    assert change.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), abs=TIGHT)
    assert change.significant is True


def test_compare_nps_adjusted_wald() -> None:
    before = nps({10: 40, 8: 30, 3: 30})  # NPS 10
    after = nps({10: 50, 8: 30, 3: 20})  # NPS 30

    def adjusted(promoters: int, detractors: int, n: int) -> tuple[float, float]:
        p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
        return p - d, math.sqrt((p + d - (p - d) ** 2) / (n + 3))

    (nps1, se1), (nps2, se2) = adjusted(40, 30, 100), adjusted(50, 20, 100)
    z = (nps2 - nps1) / math.sqrt(se1**2 + se2**2)
    change = compare_periods(before, after)
    assert change.test == "adjusted-Wald z-test"
    assert change.difference == pytest.approx(20.0, abs=TIGHT)  # the plain NPS change
    assert change.z == pytest.approx(z, abs=TIGHT)
    assert change.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), abs=TIGHT)
    assert change.significant is False  # p ≈ 0.16: twenty points on 100 answers each is noise
    assert change.interval is not None
    half = Z95 * math.sqrt(se1**2 + se2**2) * 100
    assert change.interval == pytest.approx(
        (100 * (nps2 - nps1) - half, 100 * (nps2 - nps1) + half), abs=TIGHT
    )


def test_compare_csat_newcombe_interval_contains_the_difference() -> None:
    # Newcombe (1998) Table II, example (a): 56/70 − 48/80, method 10 gives 0.0524 to 0.3339.
    change = compare_periods(csat({5: 48, 1: 32}), csat({5: 56, 1: 14}))
    assert change.test == "two-proportion z-test"
    assert change.interval is not None
    low, high = change.interval
    assert (round(low, 2), round(high, 2)) == (5.24, 33.39)
    assert low < change.difference < high


def test_compare_means_with_welch() -> None:
    change = compare_periods(csat({5: 6, 4: 2, 1: 2}), csat({5: 2, 3: 4, 2: 4}))
    assert change.average is not None
    from scipy import stats

    before = [5] * 6 + [4] * 2 + [1] * 2
    after = [5] * 2 + [3] * 4 + [2] * 4
    expected = stats.ttest_ind(after, before, equal_var=False)
    assert change.average.name == "Welch t-test"
    assert change.average.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert change.average.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert change.average.difference == pytest.approx(3.0 - 4.0, abs=TIGHT)


def test_compare_small_change_is_not_significant() -> None:
    change = compare_periods(csat({5: 8, 1: 2}), csat({5: 9, 1: 1}))
    assert change.significant is False
    assert change.p_value is not None and change.p_value > 0.05


def test_compare_without_responses() -> None:
    assert compare_periods(csat({}), csat({5: 3})) == PeriodChange(None, None, None, False)
    assert compare_periods(csat({}), csat({5: 3})).as_dict()["average"] is None


def test_compare_identical_extremes_is_no_change() -> None:
    change = compare_periods(csat({5: 10}), csat({4: 20}))
    assert (change.difference, change.z, change.p_value, change.significant) == (
        0.0,
        0.0,
        1.0,
        False,
    )


def test_compare_nps_opposite_extremes_stays_finite() -> None:
    change = compare_periods(nps({10: 5}), nps({0: 5}))
    assert change.z is not None and math.isfinite(change.z) and change.z < 0
    assert change.significant is True


def test_compare_different_metrics_raises() -> None:
    with pytest.raises(ValueError):
        compare_periods(csat({5: 1}), nps({10: 1}))


# --- the t distribution, against scipy ---------------------------------------------------------


@pytest.mark.parametrize("df", [1, 2, 3.7, 5, 10, 29, 100, 1000])
def test_t_quantile_and_tail_match_scipy(df: float) -> None:
    from scipy import stats

    from surveys.statistics import t_quantile, t_sf

    assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-9)
    for t in (0.0, 0.5, 2.0, 10.0):
        assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-15)


def test_mean_interval_is_the_t_interval() -> None:
    summary = csat({5: 3, 4: 1, 2: 1})  # mean 4.2, s² = 1.7
    assert summary.average_interval is not None
    half = 2.7764451051977987 * math.sqrt(1.7 / 5)  # t(0.975, 4)
    low, high = summary.average_interval
    assert (low, high) == pytest.approx((4.2 - half, 4.2 + half), abs=1e-9)


def test_responses_needed_for_five_points() -> None:
    # CSAT at 80 % positive: 1.96² · 0.8 · 0.2 / 0.05² = 245.9 → 246 (FACTS.md).
    at_80 = csat({5: 80, 1: 20})
    assert at_80.responses_needed == 246
    assert at_80.more_needed == 146
    assert at_80.as_dict()["n_needed"] == {"margin": 5.0, "responses": 246, "more": 146}
    # NPS worst case without answers: 1.96² · 1 / 0.05² − 3 ≈ 1 534.
    assert nps({}).responses_needed == 1534
    # NPS at 50 % promoters and 20 % detractors: s² = 0.61 → 1.96² · 0.61 / 0.0025 − 3 ≈ 935.
    assert nps({10: 50, 8: 30, 0: 20}).responses_needed == 935
