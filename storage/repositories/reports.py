"""Counts made by the database: score histograms by any dimensions, response rates, the funnel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.models import (
    ChannelFailure,
    CommentAnalysis,
    Contact,
    Invitation,
    InvitationStatus,
    Response,
    ResponseTheme,
)
from storage.repositories._dialect import custom_plans
from storage.repositories.dimensions import (
    FIELDS,
    PERIODS,
    PROPERTY_NAME,
    Selection,
    count_if,
    invitation_dimension,
    invitation_filters,
    response_dimension,
    response_filters,
    response_property,
)

Histogram = dict[int, int]
ANSWERED_STATUSES = (InvitationStatus.ANSWERED, InvitationStatus.COMPLETED)
# Names and values offered for filters are read from this many of the newest responses.
SAMPLE = 5000
GroupKey = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Reach:
    """Invitations created in a period that went out, and how many of those were answered."""

    sent: int = 0
    answered: int = 0

    def __add__(self, other: Reach) -> Reach:
        return Reach(self.sent + other.sent, self.answered + other.answered)

    @property
    def rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class CommentCounts:
    """Selected responses with a comment; of those analysed, flagged, and with a theme."""

    commented: int = 0
    analysed: int = 0
    disagreeing: int = 0
    themed: int = 0


def _key(values: Sequence[Any]) -> GroupKey:
    return tuple(None if value is None else str(value) for value in values)


class ReportRepository:
    """The counts behind score reports, themes and the dashboard; bot.insight turns them into
    metrics."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def histograms(
        self, selection: Selection, group_by: Sequence[str] = ()
    ) -> tuple[Histogram, dict[GroupKey, Histogram]]:
        """The selection's histogram and, with `group_by`, one per combination of values."""
        await custom_plans(self.session)
        where = response_filters(selection)
        total: Histogram = defaultdict(int)
        if not group_by:
            stmt = select(Response.score, func.count()).where(*where).group_by(Response.score)
            for score, count in (await self.session.execute(stmt)).all():
                total[score] += count
            return dict(total), {}
        keys = [
            response_dimension(self.dialect, name).label(f"g{i}") for i, name in enumerate(group_by)
        ]
        stmt = (
            select(*keys, Response.score, func.count())
            .where(*where)
            .group_by(*keys, Response.score)
        )
        groups: dict[GroupKey, Histogram] = defaultdict(lambda: defaultdict(int))
        for row in (await self.session.execute(stmt)).all():
            *values, score, count = row
            total[score] += count
            groups[_key(values)][score] += count
        return dict(total), {k: dict(v) for k, v in groups.items()}

    async def reach(
        self, selection: Selection, group_by: Sequence[str] = ()
    ) -> tuple[Reach, dict[GroupKey, Reach]] | None:
        """Sent and answered invitations created in the period, in total and per group; None
        when the selection or a dimension is about the answer (reason, band, text, theme)."""
        await custom_plans(self.session)
        if selection.about_answers:
            return None
        dims = [invitation_dimension(self.dialect, name) for name in group_by]
        if any(dim is None for dim in dims):
            return None
        keys = [dim.label(f"g{i}") for i, dim in enumerate(dims)]
        sent = sa_column(Invitation.sent_at).is_not(None)
        # Answered invitations are exactly those answered or completed (bot.invitations
        # .lifecycle): counted from the row itself, without joining the responses.
        answered = sa_column(Invitation.status).in_(ANSWERED_STATUSES)
        stmt = select(*keys, count_if(sent), count_if(sent & answered)).where(
            *invitation_filters(selection)
        )
        if _needs_contact(group_by, selection):
            stmt = stmt.join(Contact, Contact.id == Invitation.contact_id)
        if keys:
            stmt = stmt.group_by(*keys)
        total = Reach()
        groups: dict[GroupKey, Reach] = {}
        for row in (await self.session.execute(stmt)).all():
            *values, sent_count, answered_count = row
            counts = Reach(int(sent_count), int(answered_count))
            total += counts
            if keys:
                groups[_key(values)] = counts
        return total, groups

    async def theme_histograms(self, selection: Selection) -> dict[str, Histogram]:
        """Per theme, the histogram of the selected responses whose comment carries it."""
        await custom_plans(self.session)
        stmt = (
            select(ResponseTheme.theme, Response.score, func.count())
            .join(Response, Response.id == ResponseTheme.response_id)
            .where(
                ResponseTheme.survey_id == selection.survey_id,
                sa_column(Response.comment).is_not(None),
                *response_filters(selection),
            )
            .group_by(ResponseTheme.theme, Response.score)
        )
        themes: dict[str, Histogram] = defaultdict(dict)
        for theme, score, count in (await self.session.execute(stmt)).all():
            themes[theme][score] = count
        return dict(themes)

    async def commented(self, selection: Selection) -> CommentCounts:
        """Of the selected responses: those with a comment, analysed, flagged because score
        and words disagree, and given at least one theme."""
        await custom_plans(self.session)
        analysis = CommentAnalysis
        themed = select(ResponseTheme.response_id).where(ResponseTheme.response_id == Response.id)
        stmt = (
            select(
                func.count(),
                count_if(sa_column(analysis.response_id).is_not(None)),
                count_if(sa_column(analysis.disagrees).is_(True)),
                count_if(themed.exists()),
            )
            .select_from(Response)
            .outerjoin(analysis, analysis.response_id == Response.id)
            .where(*response_filters(selection), sa_column(Response.comment).is_not(None))
        )
        row = (await self.session.execute(stmt)).one()
        return CommentCounts(*(int(value) for value in row))

    async def has_property(self, survey_id: int, name: str) -> bool:
        """Whether any response of the survey has this property (stops at the first)."""
        stmt = (
            select(Response.id)
            .where(Response.survey_id == survey_id, response_property(name).is_not(None))
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def property_names(
        self, survey_id: int, limit: int = 30, *, sample: int = SAMPLE
    ) -> list[str]:
        """The property names the survey's newest `sample` responses have, in order (at most
        `limit`): what is worth offering, without reading every response's JSON."""
        newest = (
            select(Response.properties.label("properties"))
            .where(Response.survey_id == survey_id)
            .order_by(Response.answered_at.desc())
            .limit(sample)
            .subquery()
        )
        key: Any
        if self.dialect == "postgresql":
            key = func.jsonb_object_keys(newest.c.properties).label("key")
            stmt = select(key).select_from(newest)
        else:
            each = func.json_each(newest.c.properties).table_valued("key")
            key = each.c.key
            stmt = select(key).select_from(newest).join(each, true())
        rows = await self.session.execute(stmt.distinct().order_by(key).limit(limit))
        return [str(name) for name in rows.scalars() if PROPERTY_NAME.match(str(name))]

    async def values(
        self, survey_id: int, name: str, limit: int = 100, *, sample: int = SAMPLE
    ) -> list[str]:
        """The distinct values of a field or property among the newest `sample` responses."""
        expr = response_dimension(self.dialect, name).label("value")
        newest = (
            select(expr)
            .where(Response.survey_id == survey_id)
            .order_by(Response.answered_at.desc())
            .limit(sample)
            .subquery()
        )
        stmt = (
            select(newest.c.value)
            .where(newest.c.value.is_not(None))
            .distinct()
            .order_by(newest.c.value)
            .limit(limit)
        )
        return [str(value) for value in (await self.session.execute(stmt)).scalars()]

    async def funnel(self, selection: Selection) -> dict[str, Any]:
        """Invitations created in the period, from trigger to answer, counted in one query,
        and the channels that failed their questions in one more."""
        await custom_plans(self.session)
        sent = Invitation.sent_at.is_not(None)
        answered = Response.id.is_not(None)
        # Where the provider reports delivery (SMS) only confirmed ones count; elsewhere a send
        # the provider accepted is as far as anyone can know.
        delivered = sent & func.coalesce(Invitation.delivery_status, "delivered").in_(
            ("delivered", "read")
        )
        # Reached on its channel after another failed its question (channel fallback).
        fell_back = sent & (
            select(ChannelFailure.id)
            .where(
                ChannelFailure.invitation_id == Invitation.id,
                sa_column(ChannelFailure.reminder).is_(False),
                ChannelFailure.channel != Invitation.channel,
            )
            .exists()
        )
        stmt = (
            select(
                Invitation.status,
                Invitation.skip_reason,
                Invitation.channel,
                func.count(),
                count_if(sent),
                count_if(delivered),
                count_if(Invitation.reminders_sent > 0),
                count_if(Invitation.opened_at.is_not(None)),
                count_if(answered),
                count_if(answered & (Invitation.reminders_sent > 0)),
                count_if(answered & sa_column(Response.comment).is_not(None)),
                count_if(fell_back),
            )
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(*invitation_filters(selection))
            .group_by(Invitation.status, Invitation.skip_reason, Invitation.channel)
        )
        if _needs_contact((), selection):
            stmt = stmt.join(Contact, Contact.id == Invitation.contact_id)
        result: dict[str, Any] = {
            "triggered": 0,
            "skipped": {},
            "cancelled": 0,
            "failed": 0,
            "pending": 0,
            "sent": 0,
            "delivered": 0,
            "reminded": 0,
            "opened": 0,
            "answered": 0,
            "answered_after_reminder": 0,
            "commented": 0,
            "completed": 0,
            "reached": {},
            "fell_back": 0,
        }
        status = InvitationStatus
        for row in (await self.session.execute(stmt)).all():
            state, reason, channel, total, *counts = row
            result["triggered"] += total
            for name, count in zip(
                (
                    "sent",
                    "delivered",
                    "reminded",
                    "opened",
                    "answered",
                    "answered_after_reminder",
                    "commented",
                    "fell_back",
                ),
                counts,
                strict=True,
            ):
                result[name] += int(count)
            if counts[0]:  # sent: counted by the channel that reached them
                result["reached"][channel] = result["reached"].get(channel, 0) + int(counts[0])
            if state == status.SKIPPED:
                why = reason or "other"
                result["skipped"][why] = result["skipped"].get(why, 0) + total
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
        result["channel_failures"] = await self._channel_failures(selection)
        return result

    async def _channel_failures(self, selection: Selection) -> dict[str, dict[str, int]]:
        """Channel → reason → invitations whose question that channel could not send."""
        stmt = (
            select(
                ChannelFailure.channel,
                ChannelFailure.reason,
                func.count(func.distinct(ChannelFailure.invitation_id)),
            )
            .join(Invitation, Invitation.id == ChannelFailure.invitation_id)
            .where(*invitation_filters(selection), sa_column(ChannelFailure.reminder).is_(False))
            .group_by(ChannelFailure.channel, ChannelFailure.reason)
        )
        if _needs_contact((), selection):
            stmt = stmt.join(Contact, Contact.id == Invitation.contact_id)
        failures: dict[str, dict[str, int]] = {}
        for channel, reason, count in (await self.session.execute(stmt)).all():
            failures.setdefault(channel, {})[reason] = int(count)
        return failures


def _needs_contact(group_by: Sequence[str], selection: Selection) -> bool:
    """Whether invitation properties must be read beside the contact's (a join)."""
    names = set(group_by) | {name for name, _ in selection.properties}
    return any(name not in FIELDS + PERIODS for name in names)
