"""What a digest reports for one period: the same report and themes objects as the API's, and
the comments worth reading (the latest low scores, and those whose words and score disagree)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from bot.digests.schedule import Period
from bot.insight.comments import answer_dict
from bot.insight.filters import Filters
from bot.insight.scores import build_report, selection
from bot.insight.theme_counts import theme_report
from storage.models import SurveyRow
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

COMMENTS_SHOWN = 5
THEMES_SHOWN = 5
# Disagreements are looked for among this many of the period's newest comments.
DISAGREEMENT_WINDOW = 200


@dataclass(frozen=True, slots=True)
class DigestContent:
    """The numbers and comments of one digest."""

    survey: str
    metric: str
    scale: tuple[int, int]
    period: Period
    timezone: str
    report: dict[str, Any]
    grown: list[dict[str, Any]]
    low: list[dict[str, Any]]
    disagreeing: list[dict[str, Any]]
    dashboard_url: str


async def gather(
    uow: UnitOfWork, row: SurveyRow, period: Period, *, timezone: str, base_url: str
) -> DigestContent:
    survey = to_domain(row)
    filters = Filters(since=period.since, until=period.until)
    report = await build_report(uow, row, filters, against=period.before, funnel=False)
    themes = await theme_report(uow, row, filters, against=period.before, proposals=False)
    grown = sorted(
        (t for t in themes["themes"] if ((t.get("change") or {}).get("difference") or 0) > 0),
        key=lambda t: (-t["change"]["difference"], t["theme"]),
    )[:THEMES_SHOWN]
    commented = replace(selection(row, filters, survey), with_comment=True)
    lowest = replace(
        selection(row, replace(filters, band=survey.bands[0]), survey), with_comment=True
    )
    low = await uow.answers.page(lowest, limit=COMMENTS_SHOWN, offset=0)
    recent = await uow.answers.page(commented, limit=DISAGREEMENT_WINDOW, offset=0)
    disagreeing = [a for a in recent if a.disagrees][:COMMENTS_SHOWN]
    base = base_url.rstrip("/")
    return DigestContent(
        survey=survey.key,
        metric=survey.metric.value,
        scale=survey.scale_range,
        period=period,
        timezone=timezone,
        report=report,
        grown=grown,
        low=[answer_dict(survey, a) for a in low],
        disagreeing=[answer_dict(survey, a) for a in disagreeing],
        dashboard_url=f"{base}/dashboard/surveys/{quote(survey.key, safe='')}",
    )
