"""Themes over a period: each theme's count per band, its pull on the score, and its change.

Counts come from the `response_theme` rows the tagging job wrote (GROUP BY theme and score in
the database). Proposed themes (clusters of comments no named theme covers) are computed on
request from the newest comments of the period.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from bot.insight.filters import Filters
from bot.insight.scores import Period, selection, summary
from bot.insight.themes import ThemeBook
from storage.models import SurveyRow
from storage.repositories.reports import Histogram
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from surveys.statistics import compare_shares

# Proposals cluster at most this many of the newest comments (a few seconds of work).
PROPOSAL_SAMPLE = 3000


def by_band(survey: Survey, histogram: Histogram) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(survey.bands, 0)
    for score, count in histogram.items():
        counts[survey.band(score)] += count
    return counts


def pull(survey: Survey, total: Histogram, theme: Histogram) -> float | None:
    """The score of all responses minus the score without this theme's: negative when the
    theme pulls the score down (how much higher it would be without those answers)."""
    rest = {score: total.get(score, 0) - theme.get(score, 0) for score in total}
    everyone, without = summary(survey, total).score, summary(survey, rest).score
    if everyone is None or without is None:
        return None
    return everyone - without


async def theme_report(
    uow: UnitOfWork,
    row: SurveyRow,
    filters: Filters,
    *,
    against: Period | None = None,
    proposals: bool | None = None,
    total: Histogram | None = None,
) -> dict[str, Any]:
    """The themes object of /api/v1/surveys/{key}/themes (and the dashboard's themes);
    `total` is the selection's histogram when the caller has counted it already."""
    survey = to_domain(row)
    book = ThemeBook.from_survey(survey)
    chosen = selection(row, filters, survey)
    if total is None:
        total, _ = await uow.reports.histograms(chosen)
    tagged = await uow.reports.theme_histograms(chosen)
    counts = await uow.reports.commented(chosen)
    commented = counts.commented
    before: dict[str, Histogram] = {}
    before_commented = 0
    if against is not None:
        earlier = selection(row, filters.with_period(*against), survey)
        before = await uow.reports.theme_histograms(earlier)
        before_commented = (await uow.reports.commented(earlier)).commented

    names = list(book.names) + sorted(set(tagged) - set(book.names))
    themes = []
    for name in names:
        hist = tagged.get(name, {})
        count = sum(hist.values())
        item: dict[str, Any] = {
            "theme": name,
            "named": name in book.names,
            "responses": count,
            "share": count / commented if commented else None,
            "by_band": by_band(survey, hist),
            "score": summary(survey, hist).score,
            "impact": pull(survey, total, hist),
        }
        if against is not None:
            item["previous"] = _previous(before.get(name, {}), before_commented)
            item["change"] = _change(
                count, commented, item["previous"]["responses"], before_commented
            )
        themes.append(item)
    themes.sort(key=lambda t: (-t["responses"], t["theme"]))
    report: dict[str, Any] = {
        "survey": survey.key,
        "metric": survey.metric.value,
        "bands": list(survey.bands),
        "period": _period(filters),
        "filters": filters.query(),
        "comments": commented,
        "analysed": counts.analysed,
        "disagreements": counts.disagreeing,
        "with_a_theme": counts.themed,
        "named_themes": list(book.names),
        "themes": themes,
    }
    if against is not None:
        report["comparison"] = {
            "period": {"from": _iso(against[0]), "to": _iso(against[1])},
            "comments": before_commented,
        }
    if proposals if proposals is not None else not book.names:
        report["proposed"] = await _proposals(uow, survey, chosen, untagged=bool(book.names))
    return report


def _previous(histogram: Histogram, commented: int) -> dict[str, Any]:
    count = sum(histogram.values())
    return {"responses": count, "share": count / commented if commented else None}


def _change(count: int, commented: int, before: int, before_commented: int) -> dict[str, Any]:
    """The change of a theme's share of comments, tested like a CSAT share."""
    if not commented or not before_commented:
        return {"difference": None, "test": None, "p_value": None, "significant": False}
    test = compare_shares((before, count), (before_commented, commented))
    return {
        "difference": test.difference,
        "interval": list(test.interval) if test.interval else None,
        "test": test.name,
        "p_value": test.p_value,
        "significant": test.significant,
    }


async def _proposals(
    uow: UnitOfWork, survey: Survey, chosen: Any, *, untagged: bool
) -> dict[str, Any]:
    # Imported here: clustering loads scikit-learn, which start-up and most requests never need.
    from bot.insight.themes import propose

    comments = await uow.themes.comments(chosen, limit=PROPOSAL_SAMPLE, untagged=untagged)
    found = await asyncio.to_thread(propose, [(c.comment, c.locale) for c in comments])
    proposed = []
    for proposal in found:
        bands = Counter(survey.band(comments[i].score) for i in proposal.members)
        proposed.append(
            {
                "label": proposal.label,
                "words": list(proposal.words),
                "responses": len(proposal.members),
                "by_band": {band: bands.get(band, 0) for band in survey.bands},
                "examples": list(proposal.examples),
            }
        )
    return {
        "from_comments": len(comments),
        "among": "comments without a named theme" if untagged else "all comments",
        "themes": proposed,
    }


def _period(filters: Filters) -> dict[str, str | None]:
    return {"from": _iso(filters.since), "to": _iso(filters.until)}


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
