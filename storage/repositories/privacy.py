"""Privacy: the suppression list, what one contact's export and erasure read and remove, and
retention's purges by age."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    ChannelFailure,
    CommentAnalysis,
    Invitation,
    LinkClaim,
    Message,
    OptOut,
    Response,
    ResponseTheme,
    Suppression,
    SurveyRow,
)
from storage.repositories._dialect import upsert_insert

CHUNK = 500  # values per IN list: well inside every driver's limit on bound parameters


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # The suppression list.

    async def suppressed(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (channel, address hash) pairs among these that are on the suppression list."""
        by_channel: dict[str, list[str]] = {}
        for channel, digest in pairs:
            by_channel.setdefault(channel, []).append(digest)
        found: set[tuple[str, str]] = set()
        for channel, digests in by_channel.items():
            unique = sorted(set(digests))
            for start in range(0, len(unique), CHUNK):
                stmt = select(Suppression.address_hash).where(
                    Suppression.channel == channel,
                    col(Suppression.address_hash).in_(unique[start : start + CHUNK]),
                )
                found.update((channel, d) for d in (await self.session.execute(stmt)).scalars())
        return found

    async def suppress(self, pairs: Collection[tuple[str, str]], now: datetime) -> None:
        """Add (channel, address hash) pairs to the list; ones already on it stay as they are."""
        if not pairs:
            return
        rows = [{"channel": c, "address_hash": h, "created_at": now} for c, h in pairs]
        stmt = upsert_insert(self.session, Suppression).on_conflict_do_nothing(
            index_elements=["channel", "address_hash"]
        )
        await self.session.execute(stmt, rows)

    # One contact: what the export reads and the erasure removes.

    async def invitations_of(
        self, contact_id: int, *, lock: bool = False
    ) -> list[tuple[Invitation, str]]:
        """Every invitation of the contact, oldest first, with its survey's key."""
        stmt = (
            select(Invitation, SurveyRow.key)
            .join(SurveyRow, col(SurveyRow.id) == Invitation.survey_id)
            .where(Invitation.contact_id == contact_id)
            .order_by(Invitation.created_at, Invitation.id)
        )
        if lock:
            stmt = stmt.with_for_update(of=Invitation)
        rows = (await self.session.execute(stmt.execution_options(populate_existing=True))).all()
        return [(row[0], row[1]) for row in rows]

    async def responses_of(
        self, contact_id: int, *, lock: bool = False
    ) -> list[tuple[Response, SurveyRow]]:
        """Every response of the contact (conversations and imports), oldest first."""
        stmt = (
            select(Response, SurveyRow)
            .join(SurveyRow, col(SurveyRow.id) == Response.survey_id)
            .where(Response.contact_id == contact_id)
            .order_by(Response.answered_at, Response.id)
        )
        if lock:
            stmt = stmt.with_for_update(of=Response)
        rows = (await self.session.execute(stmt.execution_options(populate_existing=True))).all()
        return [(row[0], row[1]) for row in rows]

    async def themes_of(self, response_ids: Sequence[int]) -> dict[int, list[str]]:
        """The themes of each of these responses, by name."""
        themes: dict[int, list[str]] = {}
        for start in range(0, len(response_ids), CHUNK):
            stmt = (
                select(ResponseTheme.response_id, ResponseTheme.theme)
                .where(col(ResponseTheme.response_id).in_(response_ids[start : start + CHUNK]))
                .order_by(ResponseTheme.response_id, ResponseTheme.theme)
            )
            for response_id, theme in (await self.session.execute(stmt)).all():
                themes.setdefault(response_id, []).append(theme)
        return themes

    async def messages_of(self, contact_id: int, addresses: Collection[str]) -> Sequence[Message]:
        """The contact's transcript: messages of the contact or its invitations, and messages
        from its addresses that no contact was known for, oldest first."""
        stmt = select(Message).where(_messages_of(contact_id, addresses)).order_by(Message.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def link_claims_of(self, contact_id: int) -> Sequence[LinkClaim]:
        stmt = select(LinkClaim).where(LinkClaim.contact_id == contact_id)
        return (await self.session.execute(stmt.order_by(LinkClaim.created_at))).scalars().all()

    async def delete_messages_of(self, contact_id: int, addresses: Collection[str]) -> int:
        table = Message.__table__
        result = await self.session.execute(
            delete(table).where(_messages_of(contact_id, addresses))
        )
        return int(result.rowcount or 0)

    async def forget_analyses(self, response_ids: Sequence[int]) -> tuple[int, int]:
        """Delete the comment analyses and themes of these responses: (analyses, themes)."""
        analyses = themes = 0
        for start in range(0, len(response_ids), CHUNK):
            chunk = list(response_ids[start : start + CHUNK])
            gone = await self.session.execute(
                delete(CommentAnalysis.__table__).where(
                    CommentAnalysis.__table__.c.response_id.in_(chunk)
                )
            )
            analyses += int(gone.rowcount or 0)
            gone = await self.session.execute(
                delete(ResponseTheme.__table__).where(
                    ResponseTheme.__table__.c.response_id.in_(chunk)
                )
            )
            themes += int(gone.rowcount or 0)
        return analyses, themes

    async def channel_failures_of(self, contact_id: int) -> Sequence[ChannelFailure]:
        """The failed channels of the contact's invitations, oldest first."""
        of_invitations = select(Invitation.id).where(Invitation.contact_id == contact_id)
        stmt = (
            select(ChannelFailure)
            .where(col(ChannelFailure.invitation_id).in_(of_invitations))
            .order_by(col(ChannelFailure.failed_at), col(ChannelFailure.id))
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def forget_failure_errors(self, invitation_ids: Sequence[str]) -> None:
        """Drop what providers said about these invitations' failed sends (it can quote an
        address); the channel, reason and code stay."""
        table = ChannelFailure.__table__
        for start in range(0, len(invitation_ids), CHUNK):
            chunk = list(invitation_ids[start : start + CHUNK])
            await self.session.execute(
                update(table).where(table.c.invitation_id.in_(chunk)).values(error=None)
            )

    async def delete_link_claims(self, contact_id: int) -> int:
        table = LinkClaim.__table__
        result = await self.session.execute(delete(table).where(table.c.contact_id == contact_id))
        return int(result.rowcount or 0)

    async def delete_opt_outs(self, contact_id: int) -> int:
        table = OptOut.__table__
        result = await self.session.execute(delete(table).where(table.c.contact_id == contact_id))
        return int(result.rowcount or 0)

    # Retention: purges by age, a batch at a time.

    async def count_older(self, before: datetime) -> tuple[int, int]:
        """(transcript messages, response comments) from before `before`."""
        messages = select(func.count()).where(col(Message.created_at) < before)
        comments = select(func.count()).where(*_commented_before(before))
        return (
            int((await self.session.execute(messages)).scalar_one()),
            int((await self.session.execute(comments)).scalar_one()),
        )

    async def purge_messages(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest messages from before `before`; how many went."""
        table = Message.__table__
        oldest = (
            select(table.c.id)
            .where(table.c.created_at < before)
            .order_by(table.c.created_at)
            .limit(limit)
        )
        result = await self.session.execute(delete(table).where(table.c.id.in_(oldest)))
        return int(result.rowcount or 0)

    async def purge_comments(self, before: datetime, limit: int) -> tuple[int, int, int]:
        """Remove up to `limit` of the oldest comments from before `before`, with their analyses
        and themes (the scores stay): (comments, analyses, themes)."""
        stmt = (
            select(Response.id)
            .where(*_commented_before(before))
            .order_by(Response.answered_at)
            .limit(limit)
        )
        ids = [i for i in (await self.session.execute(stmt)).scalars() if i is not None]
        if not ids:
            return 0, 0, 0
        analyses, themes = await self.forget_analyses(ids)
        table = Response.__table__
        await self.session.execute(update(table).where(table.c.id.in_(ids)).values(comment=None))
        return len(ids), analyses, themes


def _messages_of(contact_id: int, addresses: Collection[str]) -> Any:
    table = Message.__table__.c
    of_invitations = select(Invitation.id).where(Invitation.contact_id == contact_id)
    mine = [table.contact_id == contact_id, table.invitation_id.in_(of_invitations)]
    if addresses:
        # Stored before anyone knew whose address it was (a STOP from an unknown number).
        mine.append(
            and_(
                table.contact_id.is_(None),
                table.invitation_id.is_(None),
                func.lower(table.address).in_(sorted({a.lower() for a in addresses})),
            )
        )
    return or_(*mine)


def _commented_before(before: datetime) -> tuple[Any, ...]:
    # The same terms as the partial index ix_response_commented, so the index serves them.
    return col(Response.comment).is_not(None), col(Response.answered_at) < before
