"""A digest as mail: the numbers as HTML tables and as plain text, the same figures in both.

No chart: mail clients block SVG and most images, so the trend is in words and tables, and
the dashboard link is one click away. Figures are rounded as the CLI's report rounds them.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.digests.content import DigestContent
from bot.events import mail_layout as layout
from bot.events.mail import Mail

NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES (agree)"}


def score_text(value: float | None, metric: str) -> str:
    if value is None:
        return "no responses"
    return f"{value:.1f}" + ("" if metric == "nps" else " %")


def interval_text(interval: list[float] | None, metric: str) -> str:
    if not interval:
        return "—"
    low, high = interval
    return f"{low:.1f}–{high:.1f}" + (" points" if metric == "nps" else " %")


def p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def change_text(content: DigestContent) -> tuple[str, str]:
    """The change against the period before, and its significance, each in a sentence."""
    report, metric = content.report, content.metric
    comparison = report.get("comparison") or {}
    previous = comparison.get("previous") or {}
    before = content.period.previous_name
    if comparison.get("difference") is None:
        if not report["responses"]:
            return f"no responses in this period, {previous.get('responses', 0)} in {before}", ""
        return f"no responses in {before} to compare with", ""
    unit = " points" if metric == "nps" else " % points"
    change = (
        f"{comparison['difference']:+.1f}{unit} against {before}"
        f" ({score_text(previous.get('score'), metric)} from {previous['responses']} responses)"
    )
    if comparison.get("p_value") is None:
        return change, "no test: the two periods' answers leave nothing to compare"
    if comparison["significant"]:
        verdict = (
            f"significant: {comparison['test']}, {p_text(comparison['p_value'])}; a change this"
            " large is unlikely to be chance"
        )
    else:
        verdict = (
            f"not significant: {comparison['test']}, {p_text(comparison['p_value'])}; this many"
            " answers cannot tell a change of this size from chance"
        )
    return change, verdict


def rate_text(report: dict[str, Any]) -> str:
    rate = report.get("response_rate")
    if rate is None:
        return "— (nothing was sent in this period)"
    return f"{rate * 100:.0f} % ({report['answered']} of {report['sent']} sent)"


def _facts(content: DigestContent) -> list[tuple[str, str]]:
    report, metric = content.report, content.metric
    change, verdict = change_text(content)
    rows = [
        (NAMES[metric], score_text(report["score"], metric)),
        ("95 % interval", interval_text(report.get("interval"), metric)),
        ("Change", change),
    ]
    if verdict:
        rows.append(("Significance", verdict))
    rows.append(("Responses", str(report["responses"])))
    rows.append(("Response rate", rate_text(report)))
    if report.get("average") is not None:
        low, high = content.scale
        rows.append(("Average score", f"{report['average']:.2f} on {low}–{high}"))
    if report.get("small_sample"):
        rows.append(("Note", "fewer than 30 responses: read the score as a hint, not a fact"))
    return rows


def _theme_rows(content: DigestContent) -> list[list[str]]:
    rows = []
    for theme in content.grown:
        change = theme["change"]
        share = theme.get("share")
        before = (theme.get("previous") or {}).get("share")
        verdict = "significant" if change["significant"] else "not significant"
        rows.append(
            [
                theme["theme"],
                "—" if share is None else f"{share * 100:.0f} %",
                "—" if before is None else f"{before * 100:.0f} %",
                f"{change['difference']:+.1f}",
                f"{p_text(change['p_value'])}, {verdict}"
                if change.get("p_value") is not None
                else "—",
            ]
        )
    return rows


def _credit(answer: dict[str, Any], zone: ZoneInfo) -> str:
    moment: datetime = answer["answered_at"]
    parts = [
        f"score {answer['score']} ({answer['band']})",
        answer["channel"],
        moment.astimezone(zone).strftime("%d %b %H:%M"),
        answer["contact"],
    ]
    if answer.get("themes"):
        parts.append("themes: " + ", ".join(answer["themes"]))
    return " · ".join(parts)


def digest_mail(to: str, content: DigestContent, *, footer: str) -> Mail:
    """The digest to one address."""
    zone = ZoneInfo(content.timezone)
    metric = content.metric
    when = content.period.describe()
    kind = "Daily" if content.period.every == "daily" else "Weekly"
    title = f"{kind} digest of {content.survey}: {when}"
    report = content.report
    subject = f"{content.survey}, {when}: {NAMES[metric]} {score_text(report['score'], metric)}"
    difference = (report.get("comparison") or {}).get("difference")
    if difference is not None:
        subject += f" ({difference:+.1f})"
    facts = _facts(content)
    themes = _theme_rows(content)
    header = ["theme", "share now", "before", "change", "test"]
    sections: list[tuple[str, list[dict[str, Any]]]] = [
        ("Latest low scores with a comment", content.low),
        ("Comments whose words and score disagree", content.disagreeing),
    ]

    text = [title, f"(times in {content.timezone})", ""]
    text += layout.text_facts(facts)
    text += ["", "Themes that grew (share of commented responses, against the period before)"]
    if themes:
        for row in themes:
            text.append(f"  {row[0]}: {row[1]} (was {row[2]}), {row[3]} points, {row[4]}")
    else:
        text.append("  none")
    for heading, answers in sections:
        text += ["", heading]
        if not answers:
            text.append("  none")
        for answer in answers:
            text.append(f"  {_credit(answer, zone)}")
            text += [f"    {line}" for line in (answer["comment"] or "").splitlines()]
    text += ["", f"Dashboard: {content.dashboard_url}", "", "-- ", *textwrap.wrap(footer, 78)]

    blocks = [
        layout.heading(title),
        layout.paragraph(f"Times in {content.timezone}.", muted=True),
        layout.facts(facts),
        layout.subheading("Themes that grew"),
        layout.grid(header, themes) if themes else layout.paragraph("None.", muted=True),
    ]
    for heading, answers in sections:
        blocks.append(layout.subheading(heading))
        if not answers:
            blocks.append(layout.paragraph("None.", muted=True))
        for answer in answers:
            blocks.append(layout.quote(answer["comment"] or "", by=_credit(answer, zone)))
    blocks.append(layout.button(content.dashboard_url, "Open the dashboard"))
    html = layout.document(title, blocks, footer=footer)
    return Mail(to=to, subject=subject, text="\n".join(text) + "\n", html=html)
