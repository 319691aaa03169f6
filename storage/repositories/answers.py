"""Answers as people read them (pages, exports) and the themes the text analysis gave them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.models import CommentAnalysis, Contact, Invitation, Response, ResponseTheme
from storage.repositories._dialect import custom_plans, upsert_insert
from storage.repositories.dimensions import Selection, response_filters


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One response with what a reader needs beside it: the contact, its themes, its flag."""

    id: int
    invitation_id: str | None
    contact: str
    channel: str
    score: int
    reason: str | None
    comment: str | None
    answered_at: datetime
    properties: dict[str, Any]
    themes: tuple[str, ...] = ()
    disagrees: bool | None = None


@dataclass(frozen=True, slots=True)
class PendingComment:
    """A comment the text analysis has not seen as it stands (new, changed, or re-themed)."""

    response_id: int
    score: int
    comment: str
    locale: str | None


_COLUMNS = (
    Response.id,
    Response.invitation_id,
    Contact.external_id,
    Response.channel,
    Response.score,
    Response.reason,
    Response.comment,
    Response.answered_at,
    Response.properties,
)


class AnswerRepository:
    """A survey's responses newest first, counted, or in batches for an export."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, selection: Selection, *, limit: int, offset: int) -> list[AnswerRow]:
        """One page of the selected responses, newest first, with their themes."""
        await custom_plans(self.session)
        stmt = (
            select(*_COLUMNS)
            .join(Contact, Contact.id == Response.contact_id)
            .where(*response_filters(selection))
            .order_by(Response.answered_at.desc(), Response.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(stmt)).all()
        return await self._with_themes(rows)

    async def count(self, selection: Selection) -> int:
        await custom_plans(self.session)
        stmt = select(func.count()).select_from(Response).where(*response_filters(selection))
        return int((await self.session.execute(stmt)).scalar_one())

    async def batches(
        self, selection: Selection, *, size: int = 2000
    ) -> AsyncIterator[list[AnswerRow]]:
        """The selected responses oldest first, `size` at a time (keyset paging: each batch is
        one short query, so memory stays flat however many there are)."""
        await custom_plans(self.session)
        after: tuple[datetime, int] | None = None
        while True:
            stmt = (
                select(*_COLUMNS)
                .join(Contact, Contact.id == Response.contact_id)
                .where(*response_filters(selection))
                .order_by(Response.answered_at, Response.id)
                .limit(size)
            )
            if after is not None:
                stmt = stmt.where(tuple_(Response.answered_at, Response.id) > after)
            rows = (await self.session.execute(stmt)).all()
            if not rows:
                return
            batch = await self._with_themes(rows)
            yield batch
            if len(rows) < size:
                return
            after = (batch[-1].answered_at, batch[-1].id)

    async def _with_themes(self, rows: Sequence[Any]) -> list[AnswerRow]:
        ids = [row[0] for row in rows]
        themes: dict[int, list[str]] = defaultdict(list)
        flags: dict[int, bool] = {}
        if ids:
            tagged = select(ResponseTheme.response_id, ResponseTheme.theme).where(
                sa_column(ResponseTheme.response_id).in_(ids)
            )
            for response_id, theme in (await self.session.execute(tagged)).all():
                themes[response_id].append(theme)
            analysed = select(CommentAnalysis.response_id, CommentAnalysis.disagrees).where(
                sa_column(CommentAnalysis.response_id).in_(ids)
            )
            flags = {row[0]: row[1] for row in (await self.session.execute(analysed)).all()}
        return [
            AnswerRow(
                id=row[0],
                invitation_id=row[1],
                contact=row[2],
                channel=row[3],
                score=row[4],
                reason=row[5],
                comment=row[6],
                answered_at=row[7],
                properties=row[8] or {},
                themes=tuple(sorted(themes.get(row[0], ()))) if row[6] else (),
                disagrees=flags.get(row[0]) if row[6] else None,
            )
            for row in rows
        ]


class ThemeRepository:
    """What the tagging job reads and writes: comments to analyse, and their results."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def pending(
        self,
        survey_id: int,
        version: str,
        *,
        answered_since: datetime | None = None,
        id_above: int | None = None,
        limit: int = 500,
    ) -> list[PendingComment]:
        """Commented responses without an analysis of this version, score and length.

        With `answered_since`/`id_above` only recent answers or new rows are looked at (the
        cheap sweep); without them, all of the survey's (the full sweep).
        """
        current = and_(
            CommentAnalysis.response_id == Response.id,
            CommentAnalysis.version == version,
            CommentAnalysis.score == Response.score,
            CommentAnalysis.comment_length == func.length(Response.comment),
        )
        where: list[Any] = [
            Response.survey_id == survey_id,
            sa_column(Response.comment).is_not(None),
            sa_column(CommentAnalysis.response_id).is_(None),
        ]
        recent = []
        if answered_since is not None:
            recent.append(Response.answered_at >= answered_since)
        if id_above is not None:
            recent.append(Response.id > id_above)
        if recent:
            where.append(or_(*recent))
        stmt = (
            select(
                Response.id,
                Response.score,
                Response.comment,
                func.coalesce(Invitation.locale, Contact.locale),
            )
            .outerjoin(CommentAnalysis, current)
            .outerjoin(Invitation, Invitation.id == Response.invitation_id)
            .join(Contact, Contact.id == Response.contact_id)
            .where(*where)
            .order_by(Response.id)
            .limit(limit)
        )
        return [
            PendingComment(response_id=r[0], score=r[1], comment=r[2], locale=r[3])
            for r in (await self.session.execute(stmt)).all()
        ]

    async def newest_id(self) -> int:
        """The highest response id so far (0 without responses)."""
        value = (await self.session.execute(select(func.max(Response.id)))).scalar_one()
        return int(value or 0)

    async def save(
        self,
        survey_id: int,
        version: str,
        results: Sequence[tuple[PendingComment, tuple[str, ...], int, bool]],
        now: datetime,
    ) -> None:
        """Write each comment's analysis (themes, polarity, disagreement), replacing any older.

        A comment erased or purged since it was read gets nothing: the rows are locked and
        read again, so an analysis never outlives its comment.
        """
        ids = [pending.response_id for pending, *_ in results]
        if ids:
            still = select(Response.id, func.length(Response.comment)).where(
                sa_column(Response.id).in_(ids), sa_column(Response.comment).is_not(None)
            )
            held = (await self.session.execute(still.with_for_update())).all()
            lengths = {row[0]: row[1] for row in held}
            results = [r for r in results if lengths.get(r[0].response_id) == len(r[0].comment)]
        if not results:
            return
        ids = [pending.response_id for pending, *_ in results]
        await self.session.execute(
            delete(ResponseTheme).where(sa_column(ResponseTheme.response_id).in_(ids))
        )
        rows = [
            {
                "response_id": pending.response_id,
                "survey_id": survey_id,
                "version": version,
                "score": pending.score,
                "comment_length": len(pending.comment),
                "polarity": polarity,
                "disagrees": disagrees,
                "analysed_at": now,
            }
            for pending, _themes, polarity, disagrees in results
        ]
        stmt = upsert_insert(self.session, CommentAnalysis)
        stmt = stmt.on_conflict_do_update(
            index_elements=["response_id"],
            set_={
                name: getattr(stmt.excluded, name)
                for name in ("version", "score", "comment_length", "polarity", "disagrees",
                             "analysed_at")
            },
        )  # fmt: skip
        await self.session.execute(stmt, rows)
        tags = [
            {"response_id": pending.response_id, "theme": theme, "survey_id": survey_id}
            for pending, themes, _polarity, _disagrees in results
            for theme in themes
        ]
        if tags:
            insert = upsert_insert(self.session, ResponseTheme).on_conflict_do_nothing()
            await self.session.execute(insert, tags)

    async def analysed(self, survey_id: int, version: str) -> tuple[int, int]:
        """(comments analysed under this version, commented responses) of a survey."""
        done = select(func.count()).where(
            CommentAnalysis.survey_id == survey_id, CommentAnalysis.version == version
        )
        commented = select(func.count()).where(
            Response.survey_id == survey_id, sa_column(Response.comment).is_not(None)
        )
        return (
            int((await self.session.execute(done)).scalar_one()),
            int((await self.session.execute(commented)).scalar_one()),
        )

    async def comments(
        self, selection: Selection, *, limit: int, untagged: bool
    ) -> list[PendingComment]:
        """The newest selected comments, optionally only those without a theme."""
        await custom_plans(self.session)
        stmt = (
            select(
                Response.id,
                Response.score,
                Response.comment,
                func.coalesce(Invitation.locale, Contact.locale),
            )
            .outerjoin(Invitation, Invitation.id == Response.invitation_id)
            .join(Contact, Contact.id == Response.contact_id)
            .where(*response_filters(selection), sa_column(Response.comment).is_not(None))
            .order_by(Response.answered_at.desc(), Response.id.desc())
            .limit(limit)
        )
        if untagged:
            tagged = select(ResponseTheme.response_id).where(
                ResponseTheme.response_id == Response.id
            )
            stmt = stmt.where(~tagged.exists())
        return [
            PendingComment(response_id=r[0], score=r[1], comment=r[2], locale=r[3])
            for r in (await self.session.execute(stmt)).all()
        ]
