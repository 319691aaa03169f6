"""Score reports: database histograms turned into the report object by the scoring functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.errors import NotFound, Unprocessable
from storage.models import SurveyRow
from storage.repositories.reports import COLUMNS, PERIODS, PROPERTY_NAME
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.scoring import summarize

# The property names an unknown --group-by lists at most (a survey may have many).
NAMES_LISTED = 30


class PeriodError(ValueError):
    """Raised when --from/--to (or from/to) is not a date or an ISO 8601 date-time, or when
    the start is not before the end; `field` names the bound to blame."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_period(
    from_: str | None, to: str | None, *, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """The period two bounds name (either may be absent); PeriodError unless from is before to."""
    since = parse_bound(from_, end=False, name=names[0])
    until = parse_bound(to, end=True, name=names[1])
    if since is not None and until is not None and since >= until:
        raise PeriodError(
            f"{names[0]} {from_} must be before {names[1]} {to} (that period is empty)",
            field=names[0],
        )
    return since, until


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
            f"{name}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time", field=name
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
    """The report object for one survey, overall and per group; Unprocessable naming
    `group_by` when it is neither a field nor a property any response of the survey has."""
    if group_by is not None:
        await _check_group(uow, row.id or 0, group_by)
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


async def _check_group(uow: UnitOfWork, survey_id: int, group_by: str) -> None:
    if group_by in COLUMNS + PERIODS:
        return
    if PROPERTY_NAME.match(group_by) and await uow.reports.has_property(survey_id, group_by):
        return
    names = await uow.reports.property_names(survey_id, limit=NAMES_LISTED + 1)
    listed = ", ".join(names[:NAMES_LISTED]) + (", …" if len(names) > NAMES_LISTED else "")
    raise Unprocessable(
        f"cannot group by {group_by!r}: it is not a field and no response of this survey has"
        f" such a property; group by {', '.join(COLUMNS + PERIODS)}"
        + (f" or a property: {listed}" if names else " (no response has properties)"),
        field="group_by",
    )


async def find_survey(uow: UnitOfWork, key: str) -> SurveyRow:
    """The stored survey with this key, or NotFound naming the survey."""
    row = await uow.surveys.get_by_key(key)
    if row is None:
        raise NotFound(f"survey {key!r} does not exist", field="survey")
    return row


def period(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    """The report period a request names (`from`, `to`), or Unprocessable naming the bound."""
    try:
        return parse_period(from_, to)
    except PeriodError as exc:
        raise Unprocessable(str(exc), field=exc.field) from exc
