"""The dashboard's charts as SVG text: pure functions of the dashboard's values, no I/O.

Each chart is one `<svg>` with a viewBox (it scales to its box), `role="img"` and a `<title>`,
drawn with the system font (nothing is fetched), every text escaped. Marks carry their raw
values in `data-*` attributes, so a test (or a reader of the page) can check what is drawn.
An empty input draws an honest empty chart that says so, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from bot.insight.dashboard_model import DistributionBar, FunnelStep, ThemeRow, TrendPoint

WIDTH = 480
FONT_SIZE = 12
# A phone's stylesheet draws chart text up to this size (in viewBox units), so that it stays
# readable when the chart shrinks to a narrow screen; the layout leaves room for it.
LARGEST_FONT = 17
CHAR = 0.6 * LARGEST_FONT  # the width of an average character at that size
FONT = (
    f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="{FONT_SIZE}"'
)
INK = "#1f2328"
MUTED = "#59636e"
GRID = "#d8dee4"
ACCENT = "#0b5cad"
BAND_FILL = "#0b5cad"
PAPER = "#ffffff"
# Bands by the colour of their sign: good, middling, bad (NPS and CSAT/CES names alike).
BAND_COLOURS = {
    "promoter": "#1a7f37",
    "positive": "#1a7f37",
    "passive": "#9a6700",
    "neutral": "#9a6700",
    "detractor": "#cf222e",
    "negative": "#cf222e",
}
MAX_THEMES = 8
LABEL_CHARS = 14  # a bar's label is cut to this many characters (the full one is its title)
VALUE_CHARS = 12  # room for the value written after a bar ("1,234 (56 %)")


def axis_for(metric: str) -> tuple[float, float, tuple[float, ...]]:
    """The score axis of a metric: NPS runs −100…100 points, CSAT and CES 0…100 %."""
    if metric == "nps":
        return -100.0, 100.0, (-100.0, -50.0, 0.0, 50.0, 100.0)
    return 0.0, 100.0, (0.0, 25.0, 50.0, 75.0, 100.0)


def unit_of(metric: str) -> str:
    return "points" if metric == "nps" else "%"


def number(value: float, digits: int = 1) -> str:
    """A number as the dashboard writes it: fixed decimals, a real minus sign."""
    text = f"{value:,.{digits}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
    if text.lstrip("−").strip("0.,") == "":  # -0.0 is 0.0
        text = text.lstrip("−")
    return text


def score_text(value: float, metric: str) -> str:
    """A score with its unit: "83.3 %" for CSAT/CES, "32.0" for NPS (points)."""
    return f"{number(value)} %" if metric != "nps" else number(value)


def signed(value: float, digits: int = 1) -> str:
    """A change with its sign always written: +3.2, −1.0, 0.0."""
    text = number(value, digits)
    return text if text.startswith("−") or text.strip("0.,") == "" else "+" + text


def tick_text(value: float, metric: str) -> str:
    if metric == "nps":
        return signed(value, 0)
    return f"{number(value, 0)} %"


def raw(value: float | None) -> str:
    """A value for a `data-value` attribute: Python's repr of the float, as JSON writes it."""
    return "" if value is None else repr(float(value))


def _svg(height: float, kind: str, title: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'class="chart chart-{kind}" role="img" {FONT} fill="{INK}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _f(value: float) -> str:
    """A coordinate, short: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", cls: str = "", **attrs: str
) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{klass}{extra}>{escape(text)}</text>'
    )


def _empty(height: float, kind: str, title: str, message: str) -> str:
    body = [
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{_f(height - 1)}" fill="{PAPER}" '
        f'stroke="{GRID}" rx="4"/>',
        _text(WIDTH / 2, height / 2 + 4, message, anchor="middle", cls="empty", fill=MUTED),
    ]
    return _svg(height, kind, f"{title}: {message}", body)


def trend_chart(points: Sequence[TrendPoint], *, metric: str) -> str:
    """The score per period as a line over its 95 % interval (a shaded band).

    Periods without responses break the line and the band (a gap, not a zero); a period with a
    small sample is drawn as a hollow point. The score axis is fixed (`axis_for`), so two
    views of the same survey compare at a glance.
    """
    title = "Score over time, with its 95 % interval"
    height = 260.0
    if not any(p.score is not None for p in points):
        return _empty(height, "trend", title, "No responses in this period")
    low_end, high_end, ticks = axis_for(metric)
    left, right, top, bottom = 6 * CHAR, WIDTH - 3 * CHAR, 34.0, height - 40.0
    slot = (right - left) / len(points)

    def x_at(i: int) -> float:
        return left + (i + 0.5) * slot

    def y_at(value: float) -> float:
        clamped = min(max(value, low_end), high_end)
        return top + (high_end - clamped) / (high_end - low_end) * (bottom - top)

    body: list[str] = []
    caption = "NPS points" if metric == "nps" else "% positive"
    body.append(_text(2, 16, caption, cls="axis-unit", fill=MUTED))
    for tick in ticks:
        y = y_at(tick)
        zero = metric == "nps" and tick == 0
        body.append(
            f'<line class="grid" x1="{_f(left)}" x2="{_f(right)}" y1="{_f(y)}" y2="{_f(y)}" '
            f'stroke="{MUTED if zero else GRID}" stroke-width="1"/>'
        )
        body.append(
            _text(left - 6, y + 4, tick_text(tick, metric), anchor="end", cls="tick", fill=MUTED,
                  data_tick=raw(tick))
        )  # fmt: skip
    for run in _runs(points):
        if len(run) == 1:
            i, p = run[0]
            # A lone period: its interval as a narrow bar, so it still shows.
            xs = (x_at(i) - 3, x_at(i) + 3)
            upper = [(xs[0], y_at(p.high or 0)), (xs[1], y_at(p.high or 0))]
            lower = [(xs[1], y_at(p.low or 0)), (xs[0], y_at(p.low or 0))]
        else:
            upper = [(x_at(i), y_at(p.high or 0)) for i, p in run]
            lower = [(x_at(i), y_at(p.low or 0)) for i, p in reversed(run)]
        if all(p.low is not None and p.high is not None for _, p in run):
            body.append(
                f'<polygon class="band" points="{_points(upper + lower)}" fill="{BAND_FILL}" '
                f'fill-opacity="0.16" stroke="none"/>'
            )
        if len(run) > 1:
            line = [(x_at(i), y_at(p.score or 0)) for i, p in run]
            body.append(
                f'<polyline class="line" points="{_points(line)}" fill="none" stroke="{ACCENT}" '
                f'stroke-width="2" stroke-linejoin="round"/>'
            )
    for i, p in enumerate(points):
        if p.score is None:
            continue
        hollow = p.small_sample
        interval = (
            f" ({number(p.low)}–{number(p.high)})"
            if p.low is not None and p.high is not None
            else ""
        )
        note = ", small sample" if hollow else ""
        body.append(
            f'<circle class="point{" small-sample" if hollow else ""}" cx="{_f(x_at(i))}" '
            f'cy="{_f(y_at(p.score))}" r="4" fill="{PAPER if hollow else ACCENT}" '
            f'stroke="{ACCENT}" stroke-width="2" data-period="{escape(p.label)}" '
            f'data-value="{raw(p.score)}" data-low="{raw(p.low)}" data-high="{raw(p.high)}" '
            f'data-responses="{p.responses}"><title>{escape(p.label)}: '
            f"{escape(score_text(p.score, metric))}{interval}, {p.responses:,} responses{note}"
            "</title></circle>"
        )
    body.append(
        f'<line class="x-axis" x1="{_f(left)}" x2="{_f(right)}" y1="{_f(bottom)}" '
        f'y2="{_f(bottom)}" stroke="{MUTED}"/>'
    )
    longest = max(len(p.label) for p in points)
    fits = max(1, int((right - left) // ((longest + 1.5) * CHAR)))
    every = math.ceil(len(points) / fits)
    for i, p in enumerate(points):
        if i % every == 0:
            body.append(
                _text(x_at(i), bottom + 24, p.label, anchor="middle", cls="period", fill=MUTED)
            )
    return _svg(height, "trend", title, body)


def _runs(points: Sequence[TrendPoint]) -> list[list[tuple[int, TrendPoint]]]:
    """The stretches of consecutive periods that have a score."""
    runs: list[list[tuple[int, TrendPoint]]] = []
    current: list[tuple[int, TrendPoint]] = []
    for i, p in enumerate(points):
        if p.score is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, p))
    if current:
        runs.append(current)
    return runs


def _points(pairs: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in pairs)


def distribution_chart(bars: Sequence[DistributionBar]) -> str:
    """How many answers gave each score: one bar per score, coloured by its band, counted."""
    title = "Answers by score"
    height = 230.0
    if not bars or not any(b.count for b in bars):
        return _empty(height, "distribution", title, "No responses in this period")
    left, right, top, bottom = 12.0, WIDTH - 12.0, 30.0, height - 48.0
    slot = (right - left) / len(bars)
    most = max(b.count for b in bars)
    body = [
        f'<line class="x-axis" x1="{_f(left)}" x2="{_f(right)}" y1="{_f(bottom)}" '
        f'y2="{_f(bottom)}" stroke="{MUTED}"/>'
    ]
    for i, bar in enumerate(bars):
        x = left + i * slot + slot * 0.15
        width = slot * 0.7
        tall = (bottom - top) * bar.count / most
        centre = x + width / 2
        colour = BAND_COLOURS.get(bar.band, MUTED)
        body.append(
            f'<rect class="bar band-{escape(bar.band)}" x="{_f(x)}" y="{_f(bottom - tall)}" '
            f'width="{_f(width)}" height="{_f(tall)}" fill="{colour}" data-score="{bar.score}" '
            f'data-value="{bar.count}" data-band="{escape(bar.band)}"><title>score {bar.score}: '
            f"{bar.count:,} answers ({escape(bar.band)})</title></rect>"
        )
        body.append(
            _text(centre, bottom - tall - 5, f"{bar.count:,}", anchor="middle", cls="count")
        )
        body.append(
            _text(centre, bottom + 22, str(bar.score), anchor="middle", cls="score", fill=MUTED)
        )
    body.append(_text(right, bottom + 44, "score", anchor="end", cls="axis-unit", fill=MUTED))
    return _svg(height, "distribution", title, body)


@dataclass(frozen=True, slots=True)
class _Bar:
    """One horizontal bar: its label, length (≥ 0), text, colour, and the value it stands for."""

    label: str
    length: float
    shown: str
    colour: str
    value: float
    sub: bool = False


def _hbars(bars: Sequence[_Bar], *, kind: str, title: str, data_name: str) -> str:
    """Horizontal bars from a common zero, labelled on the left, their value on the right."""
    row_height = 30.0
    top = 8.0
    height = top * 2 + row_height * len(bars)
    left, right = LABEL_CHARS * CHAR + 12, WIDTH - VALUE_CHARS * CHAR
    most = max((bar.length for bar in bars), default=0) or 1
    body = [
        f'<line class="y-axis" x1="{_f(left)}" x2="{_f(left)}" y1="{_f(top)}" '
        f'y2="{_f(height - top)}" stroke="{MUTED}"/>'
    ]
    for n, bar in enumerate(bars):
        y = top + n * row_height
        long = (right - left) * bar.length / most
        body.append(
            _text(left - 8, y + 20, _clip(bar.label, LABEL_CHARS), anchor="end",
                  cls="label sub" if bar.sub else "label", fill=MUTED if bar.sub else INK)
        )  # fmt: skip
        body.append(
            f'<rect class="bar{" sub" if bar.sub else ""}" x="{_f(left)}" y="{_f(y + 6)}" '
            f'width="{_f(long)}" height="{_f(row_height - 12)}" fill="{bar.colour}" '
            f'data-{data_name}="{escape(bar.label)}" data-value="{raw(bar.value)}"><title>'
            f"{escape(bar.label)}: {escape(bar.shown)}</title></rect>"
        )
        body.append(_text(left + long + 6, y + 20, bar.shown, cls="value"))
    return _svg(height, kind, title, body)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def funnel_chart(steps: Sequence[FunnelStep]) -> str:
    """The funnel as horizontal bars with counts; a step's breakdown (skipped by reason)
    follows it as indented, lighter bars."""
    title = "From trigger to answer"
    if not steps or not any(s.count for s in steps):
        return _empty(80.0, "funnel", title, "No invitations in this period")
    bars: list[_Bar] = []
    for step in steps:
        bars.append(_Bar(step.label, step.count, f"{step.count:,}", ACCENT, step.count))
        for reason, count in step.detail:
            bars.append(_Bar(reason, count, f"{count:,}", "#7ea7d8", count, sub=True))
    return _hbars(bars, kind="funnel", title=title, data_name="step")


def themes_by_volume_chart(themes: Sequence[ThemeRow]) -> str:
    """The themes most comments carry, with their count and share of commented responses."""
    title = "Themes by number of comments"
    ranked = sorted(themes, key=lambda t: (-t.responses, t.name))[:MAX_THEMES]
    if not ranked:
        return _empty(80.0, "themes-volume", title, "No themes in this period")
    bars = [
        _Bar(t.name, t.responses, f"{t.responses:,} ({number(t.share * 100, 0)} %)", ACCENT,
             t.responses)
        for t in ranked
    ]  # fmt: skip
    return _hbars(bars, kind="themes-volume", title=title, data_name="theme")


def themes_by_pull_chart(themes: Sequence[ThemeRow]) -> str:
    """The themes that pull the score down the most: how much higher the score would be
    without their responses, in the score's unit. Themes that lift it are left out."""
    title = "Themes pulling the score down, in points"
    pulling = [t for t in themes if t.impact is not None and t.impact < 0]
    ranked = sorted(pulling, key=lambda t: (t.impact or 0, t.name))[:MAX_THEMES]
    if not ranked:
        return _empty(80.0, "themes-pull", title, "No theme pulls the score down")
    bars = [
        _Bar(t.name, -(t.impact or 0), signed(t.impact or 0),
             BAND_COLOURS["negative"], t.impact or 0)
        for t in ranked
    ]  # fmt: skip
    return _hbars(bars, kind="themes-pull", title=title, data_name="theme")
