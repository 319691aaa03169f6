"""What reports group and filter by, as SQL on either database: fields, properties, time buckets.

Responses and invitations are both counted (scores from responses, response rates from
invitations), so each dimension has an expression on each table: a property of a response is
its snapshot at answer time; of an invitation, the trigger's value or else the contact's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer as SqlInteger
from sqlalchemy import case, cast, func, or_, select
from sqlmodel import col as sa_column

from storage.models import Contact, Invitation, Response, ResponseTheme

FIELDS = ("channel", "reason")  # a response's own fields; any other name is a property
PERIODS = ("day", "week", "month", "quarter", "year")
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LIKE_SPECIALS = re.compile(r"([\\%_])")


@dataclass(frozen=True, slots=True)
class Selection:
    """Which of a survey's responses (and invitations) a count takes.

    `since` inclusive, `until` exclusive; empty tuples mean any value; `scores` an inclusive
    range (a band); `text` a case-insensitive search in comments; `themes` any of these themes.
    """

    survey_id: int
    since: datetime | None = None
    until: datetime | None = None
    channels: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    scores: tuple[int, int] | None = None
    properties: tuple[tuple[str, tuple[str, ...]], ...] = ()
    text: str | None = None
    themes: tuple[str, ...] = ()
    with_comment: bool = False

    @property
    def about_answers(self) -> bool:
        """Whether it selects by what was answered, which invitations cannot be counted by."""
        return bool(self.reasons or self.scores or self.text or self.themes or self.with_comment)


def check_name(name: str) -> None:
    """ValueError unless `name` is a field, a period or a well-formed property name."""
    if name not in FIELDS + PERIODS and not PROPERTY_NAME.match(name):
        raise ValueError(
            f"cannot group by {name!r}: use {', '.join(FIELDS + PERIODS)} or a property name"
        )


def response_property(name: str) -> Any:
    return sa_column(Response.properties)[name].as_string()


def invitation_property(name: str) -> Any:
    # The response's snapshot is {**contact, **trigger}: the trigger's value wins here too.
    return func.coalesce(
        sa_column(Invitation.properties)[name].as_string(),
        sa_column(Contact.properties)[name].as_string(),
    )


def bucket(dialect: str, moment: Any, period: str) -> Any:
    """A UTC time bucket's label: 2026-11-02, 2026-W45 (ISO week), 2026-11, 2026-Q4, 2026."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", moment)
        formats = {
            "day": "YYYY-MM-DD",
            "week": 'IYYY-"W"IW',
            "month": "YYYY-MM",
            "quarter": 'YYYY-"Q"Q',
            "year": "YYYY",
        }
        return func.to_char(utc, formats[period])
    if period == "week":
        # SQLite before 3.46 has no ISO week: the week is the one its Thursday falls in.
        weekday = (cast(func.strftime("%w", moment), SqlInteger) + 6) % 7
        thursday = func.date(moment, func.printf("-%d days", weekday), "+3 days")
        number = (cast(func.strftime("%j", thursday), SqlInteger) - 1) / 7 + 1
        return func.printf("%s-W%02d", func.strftime("%Y", thursday), number)
    if period == "quarter":
        quarter = (cast(func.strftime("%m", moment), SqlInteger) + 2) / 3
        return func.printf("%s-Q%d", func.strftime("%Y", moment), quarter)
    formats = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
    return func.strftime(formats[period], moment)


def response_dimension(dialect: str, name: str) -> Any:
    """The expression a response is grouped by for `name`."""
    check_name(name)
    if name == "channel":
        return Response.channel
    if name == "reason":
        return Response.reason
    if name in PERIODS:
        return bucket(dialect, Response.answered_at, name)
    return response_property(name)


def invitation_dimension(dialect: str, name: str) -> Any:
    """The expression an invitation is grouped by for `name`; None for `reason` (not known
    before the answer)."""
    check_name(name)
    if name == "channel":
        return Invitation.channel
    if name == "reason":
        return None
    if name in PERIODS:
        return bucket(dialect, Invitation.created_at, name)
    return invitation_property(name)


def counted() -> Any:
    """Responses that count: not answers to a test conversation (`surveybot try`).

    Written as NOT IN over the few test invitations (a partial index holds just them), not as a
    correlated NOT EXISTS: that probed the invitation table once per response.
    """
    tests = select(Invitation.id).where(sa_column(Invitation.test).is_(True))
    return or_(
        sa_column(Response.invitation_id).is_(None),
        sa_column(Response.invitation_id).not_in(tests),
    )


def response_filters(selection: Selection) -> list[Any]:
    """The WHERE conditions on responses for a selection."""
    where: list[Any] = [Response.survey_id == selection.survey_id, counted()]
    if selection.since is not None:
        where.append(Response.answered_at >= selection.since)
    if selection.until is not None:
        where.append(Response.answered_at < selection.until)
    if selection.channels:
        where.append(sa_column(Response.channel).in_(selection.channels))
    if selection.reasons:
        where.append(sa_column(Response.reason).in_(selection.reasons))
    if selection.scores is not None:
        low, high = selection.scores
        where.append(sa_column(Response.score).between(low, high))
    for name, values in selection.properties:
        where.append(response_property(name).in_(values))
    if selection.with_comment:
        where.append(sa_column(Response.comment).is_not(None))
    if selection.text:
        pattern = "%" + _LIKE_SPECIALS.sub(r"\\\1", selection.text.lower()) + "%"
        where.append(func.lower(sa_column(Response.comment)).like(pattern, escape="\\"))
    if selection.themes:
        tagged = select(ResponseTheme.response_id).where(
            ResponseTheme.response_id == Response.id,
            sa_column(ResponseTheme.theme).in_(selection.themes),
        )
        where.append(tagged.exists())
    return where


def invitation_filters(selection: Selection) -> list[Any]:
    """The WHERE conditions on invitations (created in the period) for a selection's fields."""
    where: list[Any] = [
        Invitation.survey_id == selection.survey_id,
        sa_column(Invitation.test).is_(False),
    ]
    if selection.since is not None:
        where.append(Invitation.created_at >= selection.since)
    if selection.until is not None:
        where.append(Invitation.created_at < selection.until)
    if selection.channels:
        where.append(sa_column(Invitation.channel).in_(selection.channels))
    for name, values in selection.properties:
        where.append(invitation_property(name).in_(values))
    return where


def count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
