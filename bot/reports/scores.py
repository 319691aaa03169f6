"""Score reports: database histograms turned into the report object by the scoring functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.errors import NotFound, Unprocessable
from storage.models import SurveyRow
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.scoring import summarize


class PeriodError(ValueError):
    """Raised when --from/--to (or from/to) is not a date or an ISO 8601 date-time."""


def parse_bound(value: str | None, *, end: bool, name: str) -> datetime | None:
    """A report bound: a date means its whole day (an end date is included), UTC."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time.min, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PeriodError(
            f"{name}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def build_report(
    uow: UnitOfWork,
    row: SurveyRow,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    """The report object for one survey, overall and per group."""
    survey = to_domain(row)
    total, groups = await uow.reports.histograms(
        row.id or 0, since=since, until=until, group_by=group_by
    )

    def summary(hist: dict[int, int]) -> dict[str, Any]:
        return summarize(
            survey.metric.value, survey.scale_range, survey.first_positive, hist
        ).as_dict()

    report: dict[str, Any] = {"survey": survey.key, **summary(total)}
    report["period"] = {
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
    }
    report["groups"] = (
        [
            {"group": {group_by: value}, **summary(hist)}
            for value, hist in sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
        ]
        if group_by
        else []
    )
    report["funnel"] = await uow.reports.funnel(row.id or 0, since=since, until=until)
    return report


async def find_survey(uow: UnitOfWork, key: str) -> SurveyRow:
    """The stored survey with this key, or NotFound naming the survey."""
    row = await uow.surveys.get_by_key(key)
    if row is None:
        raise NotFound(f"survey {key!r} does not exist", field="survey")
    return row


def period(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    """The report period a request names (`from`, `to`), or Unprocessable naming the bound."""
    try:
        return parse_bound(from_, end=False, name="from"), parse_bound(to, end=True, name="to")
    except PeriodError as exc:
        raise Unprocessable(str(exc), field=str(exc).split(":")[0]) from exc
