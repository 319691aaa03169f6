"""Counts made by the database: score histograms (GROUP BY score and a dimension) and the funnel."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.models import Invitation, InvitationStatus, Response

COLUMNS = ("channel", "reason")  # a response's own fields; any other name is a property
PERIODS = ("month", "week", "day")
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Histogram = dict[int, int]


def counted() -> Any:
    """Responses that count: not answers to a test conversation (`surveybot try`)."""
    test = select(Invitation.id).where(
        Invitation.id == Response.invitation_id, sa_column(Invitation.test).is_(True)
    )
    return ~test.exists()


def _day_expr(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Response.answered_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", Response.answered_at)


def _fold_period(day: str, period: str) -> str:
    parsed = date.fromisoformat(day)
    if period == "month":
        return f"{parsed.year:04d}-{parsed.month:02d}"
    if period == "week":
        year, week, _ = parsed.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return day


def _group_expr(session: AsyncSession, group_by: str) -> Any:
    if group_by == "channel":
        return Response.channel
    if group_by == "reason":
        return Response.reason
    if group_by in PERIODS:
        return _day_expr(session)
    if not PROPERTY_NAME.match(group_by):
        raise ValueError(
            f"cannot group by {group_by!r}: use {', '.join(COLUMNS + PERIODS)} or a property name"
        )
    return _property(group_by)


def _property(name: str) -> Any:
    return sa_column(Response.properties)[name].as_string()


class ReportRepository:
    """The counts behind a score report; bot.reports turns them into metrics."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def histograms(
        self,
        survey_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        group_by: str | None = None,
    ) -> tuple[Histogram, dict[str | None, Histogram]]:
        """The survey's overall histogram and, with `group_by`, one histogram per group value."""
        filters = [Response.survey_id == survey_id, counted()]
        if since is not None:
            filters.append(Response.answered_at >= since)
        if until is not None:
            filters.append(Response.answered_at < until)
        total: Histogram = defaultdict(int)
        groups: dict[str | None, Histogram] = defaultdict(lambda: defaultdict(int))
        if group_by is None:
            stmt = select(Response.score, func.count()).where(*filters).group_by(Response.score)
            for score, count in (await self.session.execute(stmt)).all():
                total[score] += count
            return dict(total), {}
        key = _group_expr(self.session, group_by).label("g")
        stmt = (
            select(key, Response.score, func.count()).where(*filters).group_by(key, Response.score)
        )
        for value, score, count in (await self.session.execute(stmt)).all():
            if value is not None and group_by in PERIODS:
                value = _fold_period(str(value), group_by)
            elif value is not None:
                value = str(value)
            total[score] += count
            groups[value][score] += count
        return dict(total), {k: dict(v) for k, v in groups.items()}

    async def has_property(self, survey_id: int, name: str) -> bool:
        """Whether any response of the survey has this property (stops at the first)."""
        stmt = (
            select(Response.id)
            .where(Response.survey_id == survey_id, _property(name).is_not(None))
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def property_names(self, survey_id: int, limit: int = 30) -> list[str]:
        """The property names the survey's responses have, in order (at most `limit`)."""
        key: Any
        if self.session.get_bind().dialect.name == "postgresql":
            key = func.jsonb_object_keys(Response.properties).label("key")
            stmt = select(key).where(Response.survey_id == survey_id)
        else:
            each = func.json_each(Response.properties).table_valued("key")
            key = each.c.key
            stmt = (
                select(key)
                .select_from(Response)
                .join(each, true())
                .where(Response.survey_id == survey_id)
            )
        rows = await self.session.execute(stmt.distinct().order_by(key).limit(limit))
        return [str(name) for name in rows.scalars()]

    async def funnel(
        self,
        survey_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Invitations created in the period, from trigger to answer, counted in one query."""
        filters = [Invitation.survey_id == survey_id, sa_column(Invitation.test).is_(False)]
        if since is not None:
            filters.append(Invitation.created_at >= since)
        if until is not None:
            filters.append(Invitation.created_at < until)

        def count_if(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        answered = Response.id.is_not(None)
        stmt = (
            select(
                Invitation.status,
                Invitation.skip_reason,
                func.count(),
                count_if(Invitation.sent_at.is_not(None)),
                count_if(Invitation.reminders_sent > 0),
                count_if(Invitation.opened_at.is_not(None)),
                count_if(answered),
                count_if(answered & (Invitation.reminders_sent > 0)),
            )
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(*filters)
            .group_by(Invitation.status, Invitation.skip_reason)
        )
        status = InvitationStatus
        result: dict[str, Any] = {
            "triggered": 0,
            "skipped": {},
            "cancelled": 0,
            "failed": 0,
            "pending": 0,
            "sent": 0,
            "reminded": 0,
            "opened": 0,
            "answered": 0,
            "answered_after_reminder": 0,
            "completed": 0,
        }
        for state, reason, total, sent, reminded, opened, got, after in (
            await self.session.execute(stmt)
        ).all():
            result["triggered"] += total
            result["sent"] += sent
            result["reminded"] += reminded
            result["opened"] += opened
            result["answered"] += got
            result["answered_after_reminder"] += after
            if state == status.SKIPPED:
                result["skipped"][reason or "other"] = (
                    result["skipped"].get(reason or "other", 0) + total
                )
            elif state == status.CANCELLED:
                result["cancelled"] += total
            elif state == status.FAILED:
                result["failed"] += total
            elif state in (status.SCHEDULED, status.SENDING):
                result["pending"] += total
            elif state == status.COMPLETED:
                result["completed"] += total
        result["response_rate"] = (
            round(result["answered"] / result["sent"], 4) if result["sent"] else None
        )
        return result
