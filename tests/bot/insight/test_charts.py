"""The dashboard's SVG charts, read back with xml.etree: geometry, labels, units, empty data."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from bot.insight import charts
from bot.insight.dashboard_model import DistributionBar, FunnelStep, ThemeRow, TrendPoint

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("viewBox", "").startswith("0 0 ")
    # It scales to its box: no fixed size, and a title as its accessible name.
    assert root.get("width") is None and root.get("height") is None
    assert root[0].tag == f"{SVG}title" and (root[0].text or "").strip()
    return root


def all_of(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{SVG}{tag}")
    return [e for e in found if cls is None or cls in (e.get("class") or "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in all_of(root, "text", cls)]


def point(label: str, score: float | None, low: float | None, high: float | None, n: int = 40,
          small: bool = False) -> TrendPoint:  # fmt: skip
    return TrendPoint(label, date(2026, 1, 1), score, low, high, n, small)


def value_of_y(root: ET.Element) -> tuple[float, float]:
    """The axis as (value per unit of y, value at y=0), read from the tick labels and gridlines."""
    ticks = [
        (float(t.get("data-tick") or 0), float(t.get("y") or 0))
        for t in all_of(root, "text", "tick")
    ]
    grid = sorted(float(line.get("y1") or 0) for line in all_of(root, "line", "grid"))
    assert len(grid) == len(ticks)
    (v1, _), (v2, _) = ticks[0], ticks[-1]
    y_by_value = dict(zip(sorted((v for v, _ in ticks), reverse=True), grid, strict=True))
    slope = (v2 - v1) / (y_by_value[v2] - y_by_value[v1])
    return slope, v1 - slope * y_by_value[v1]


def test_trend_band_spans_each_interval_and_gaps_break_line_and_band() -> None:
    points = [
        point("2026-01", 70.0, 60.0, 78.0),
        point("2026-02", 75.0, 66.0, 82.5, n=12, small=True),
        point("2026-03", 72.0, 65.0, 79.0),
        point("2026-04", None, None, None, n=0),  # no responses: a gap
        point("2026-05", 90.0, 84.0, 94.0),
        point("2026-06", 88.0, 81.0, 93.0),
    ]
    root = parse(charts.trend_chart(points, metric="csat"))
    slope, offset = value_of_y(root)
    circles = all_of(root, "circle", "point")
    assert [c.get("data-period") for c in circles] == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-05",
        "2026-06",
    ]
    bands = all_of(root, "polygon", "band")
    lines = all_of(root, "polyline", "line")
    assert len(bands) == 2 and len(lines) == 2  # one per stretch of periods with responses
    vertices = [
        (float(x), float(y))
        for band in bands
        for x, y in (pair.split(",") for pair in (band.get("points") or "").split())
    ]
    checked = 0
    for circle in circles:
        cx = float(circle.get("cx") or 0)
        at_x = sorted(offset + slope * y for x, y in vertices if abs(x - cx) < 1e-6)
        low, high = float(circle.get("data-low") or 0), float(circle.get("data-high") or 0)
        assert at_x == pytest.approx([low, high], abs=0.05), circle.get("data-period")
        score = offset + slope * float(circle.get("cy") or 0)
        assert score == pytest.approx(float(circle.get("data-value") or 0), abs=0.05)
        checked += 1
    assert checked == 5
    # Small samples are hollow; the others filled.
    fills = {
        c.get("data-period"): (c.get("fill"), "small-sample" in (c.get("class") or ""))
        for c in circles
    }
    assert fills["2026-02"] == (charts.PAPER, True)
    assert fills["2026-01"] == (charts.ACCENT, False)
    # Labels as many as fit at a phone's font size: here every other period's.
    assert texts(root, "period") == [p.label for p in points][::2]


def test_trend_axis_ticks_carry_the_unit() -> None:
    csat = parse(charts.trend_chart([point("2026-W45", 50.0, 40.0, 60.0)], metric="csat"))
    assert texts(csat, "tick") == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    assert texts(csat, "axis-unit") == ["% positive"]
    nps = parse(charts.trend_chart([point("2026-Q4", -20.0, -35.0, -5.0)], metric="nps"))
    assert texts(nps, "tick") == ["−100", "−50", "0", "+50", "+100"]
    assert texts(nps, "axis-unit") == ["NPS points"]
    slope, offset = value_of_y(nps)
    # A lone period's band is a narrow bar from its low to its high.
    (band,) = all_of(nps, "polygon", "band")
    ys = sorted(offset + slope * float(p.split(",")[1]) for p in (band.get("points") or "").split())
    assert (ys[0], ys[-1]) == pytest.approx((-35.0, -5.0), abs=0.05)


def test_many_periods_keep_their_labels_apart() -> None:
    start = date(2026, 8, 1)
    points = [point((start + timedelta(days=n)).isoformat(), 80.0, 70.0, 90.0) for n in range(90)]
    root = parse(charts.trend_chart(points, metric="ces"))
    labels = all_of(root, "text", "period")
    assert 3 <= len(labels) <= 12
    xs = [float(t.get("x") or 0) for t in labels]
    width = len(points[0].label) * charts.CHAR
    assert all(b - a >= width for a, b in itertools.pairwise(xs))
    assert labels[0].text == "2026-08-01"


@pytest.mark.parametrize(
    ("drawn", "message"),
    [
        (charts.trend_chart([], metric="csat"), "No responses in this period"),
        (charts.trend_chart([point("2026-01", None, None, None, n=0)], metric="nps"),
         "No responses in this period"),
        (charts.distribution_chart([DistributionBar(1, 0, "negative")]),
         "No responses in this period"),
        (charts.distribution_chart([]), "No responses in this period"),
        (charts.funnel_chart([FunnelStep("triggered", "Triggered", 0)]),
         "No invitations in this period"),
        (charts.themes_by_volume_chart([]), "No themes in this period"),
        (charts.themes_by_pull_chart([]), "No theme pulls the score down"),
    ],
)  # fmt: skip
def test_empty_data_draws_a_chart_that_says_so(drawn: str, message: str) -> None:
    root = parse(drawn)
    assert texts(root, "empty") == [message]
    assert message in (root[0].text or "")
    assert not all_of(root, "circle") and not all_of(root, "polygon")


def test_distribution_bars_are_counted_coloured_and_on_a_score_axis() -> None:
    bars = [
        DistributionBar(0, 4, "detractor"),
        DistributionBar(7, 10, "passive"),
        DistributionBar(9, 20, "promoter"),
        DistributionBar(10, 0, "promoter"),
    ]
    root = parse(charts.distribution_chart(bars))
    rects = all_of(root, "rect", "bar")
    assert [r.get("data-score") for r in rects] == ["0", "7", "9", "10"]
    heights = [float(r.get("height") or 0) for r in rects]
    assert heights[1] / heights[2] == pytest.approx(0.5, abs=0.01)
    assert heights[0] / heights[2] == pytest.approx(0.2, abs=0.01) and heights[3] == 0
    assert [r.get("fill") for r in rects] == [
        charts.BAND_COLOURS["detractor"], charts.BAND_COLOURS["passive"],
        charts.BAND_COLOURS["promoter"], charts.BAND_COLOURS["promoter"],
    ]  # fmt: skip
    assert texts(root, "count") == ["4", "10", "20", "0"]
    assert texts(root, "score") == ["0", "7", "9", "10"]
    # Bars stand on one baseline.
    bottoms = {float(r.get("y") or 0) + float(r.get("height") or 0) for r in rects}
    assert len({round(b, 2) for b in bottoms}) == 1


def test_funnel_bars_are_proportional_with_breakdowns_after_their_step() -> None:
    steps = [
        FunnelStep("triggered", "Triggered", 200),
        FunnelStep("skipped", "Skipped", 50, (("throttled", 30), ("opted_out", 20))),
        FunnelStep("sent", "Sent", 150),
        FunnelStep("answered", "Answered", 1_234 // 10),
    ]
    root = parse(charts.funnel_chart(steps))
    rects = all_of(root, "rect", "bar")
    assert [r.get("data-step") for r in rects] == [
        "Triggered", "Skipped", "throttled", "opted_out", "Sent", "Answered"
    ]  # fmt: skip
    widths = {r.get("data-step"): float(r.get("width") or 0) for r in rects}
    assert widths["Sent"] / widths["Triggered"] == pytest.approx(0.75, abs=0.01)
    assert widths["throttled"] / widths["Triggered"] == pytest.approx(0.15, abs=0.01)
    assert [r.get("data-value") for r in rects][:2] == ["200.0", "50.0"]
    assert "sub" in (rects[2].get("class") or "").split()
    assert texts(root, "value") == ["200", "50", "30", "20", "150", "123"]
    assert texts(root, "label")[:2] == ["Triggered", "Skipped"]


def theme(name: str, n: int, impact: float | None) -> ThemeRow:
    return ThemeRow(name, n, n / 100, {}, impact, n, 0)


def test_theme_bars_by_volume_and_by_pull() -> None:
    themes = [theme(f"t{n:02d}", n, -n / 10 if n % 2 else n / 10) for n in range(1, 13)]
    themes.append(theme("no impact", 50, None))
    volume = parse(charts.themes_by_volume_chart(themes))
    names = [r.get("data-theme") for r in all_of(volume, "rect", "bar")]
    assert names == ["no impact", "t12", "t11", "t10", "t09", "t08", "t07", "t06"]
    assert texts(volume, "value")[:2] == ["50 (50 %)", "12 (12 %)"]
    pull = parse(charts.themes_by_pull_chart(themes))
    rects = all_of(pull, "rect", "bar")
    # Only the themes that lower the score, the strongest pull first, raw impact in data-value.
    assert [r.get("data-theme") for r in rects] == ["t11", "t09", "t07", "t05", "t03", "t01"]
    assert [float(r.get("data-value") or 0) for r in rects][:2] == [-1.1, -0.9]
    assert texts(pull, "value")[:2] == ["−1.1", "−0.9"]
    lengths = [float(r.get("width") or 0) for r in rects]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > 0


def test_text_is_escaped_and_long_labels_are_cut() -> None:
    tricky = 'Billing <b>&</b> "refunds" for the enterprise plan'
    root = parse(charts.themes_by_volume_chart([theme(tricky, 3, -1.0)]))
    (rect,) = all_of(root, "rect", "bar")
    assert rect.get("data-theme") == tricky
    (label,) = texts(root, "label")
    assert label == tricky[: charts.LABEL_CHARS - 1] + "…"
    assert rect[0].text == f"{tricky}: 3 (3 %)"  # the whole name on hover
    trend = parse(charts.trend_chart([point("<2026>", 10.0, 5.0, 20.0)], metric="csat"))
    assert texts(trend, "period") == ["<2026>"]


def test_numbers_are_written_one_way() -> None:
    assert charts.number(83.333) == "83.3" and charts.number(-0.04) == "0.0"
    assert charts.number(-12.25) == "−12.2" and charts.number(1234.5, 0) == "1,234"
    assert charts.signed(3.25) == "+3.2" and charts.signed(-1.0) == "−1.0"
    assert charts.signed(0.0) == "0.0"
    assert charts.score_text(83.35, "csat") == "83.3 %" and charts.score_text(-5.0, "nps") == "−5.0"
    assert charts.raw(0.1 + 0.2) == "0.30000000000000004" and charts.raw(None) == ""
