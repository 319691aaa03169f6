"""Transcript messages (inbound stored once per provider id), responses, a contact's history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Invitation, Message, OptOut, Response, SurveyRow
from storage.repositories.dimensions import counted
from storage.types import utcnow


@cache
def _inbound_insert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id of an inbound message, built once per dialect
    on the table, not the ORM class (every answer runs it: the ORM's bulk path costs more)."""
    table = Message.__table__
    insert_ = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert_.on_conflict_do_nothing(
        index_elements=["channel", "direction", "provider_message_id"]
    ).returning(table.c.id)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_inbound(
        self,
        *,
        channel: str,
        address: str,
        provider_message_id: str,
        text: str,
        received_at: datetime,
        invitation_id: str | None = None,
        contact_id: int | None = None,
    ) -> int | None:
        """Store an inbound message; None when this provider id was stored before (redelivery)."""
        values = {
            "channel": channel,
            "direction": "in",
            "address": address,
            "provider_message_id": provider_message_id,
            "text": text,
            "created_at": received_at,
            "invitation_id": invitation_id,
            "contact_id": contact_id,
        }
        stmt = _inbound_insert(self.session.bind.dialect.name)
        return (await self.session.execute(stmt, values)).scalar_one_or_none()

    async def add_outbound_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store many outbound messages in one round trip (the dispatcher's chunks)."""
        if rows:
            # Core, not the ORM's bulk insert: a plain executemany, no per-row rendering.
            await self.session.execute(insert(Message.__table__), list(rows))

    async def add_outbound(
        self,
        *,
        channel: str,
        address: str | None,
        text: str,
        invitation_id: str | None,
        contact_id: int | None,
        provider_message_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Message:
        message = Message(
            channel=channel,
            direction="out",
            address=address,
            text=text,
            invitation_id=invitation_id,
            contact_id=contact_id,
            provider_message_id=provider_message_id,
            created_at=created_at or utcnow(),
        )
        self.session.add(message)
        return message

    async def sent_with_provider_id(
        self, channel: str, provider_message_id: str
    ) -> tuple[str | None, int | None] | None:
        """(invitation id, contact id) of the message we sent with this provider id, if any.

        Found through the unique (channel, direction, provider id) index.
        """
        stmt = (
            select(Message.invitation_id, Message.contact_id)
            .where(
                Message.channel == channel,
                Message.direction == "out",
                Message.provider_message_id == provider_message_id,
            )
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def last_inbound(
        self, contact_ids: Sequence[int], channels: Sequence[str]
    ) -> dict[tuple[int, str], datetime]:
        """When each contact last wrote on each channel: (contact id, channel) → time.

        Read through the (contact, channel, direction, time) index; contacts who never wrote
        are absent.
        """
        if not contact_ids or not channels:
            return {}
        stmt = (
            select(Message.contact_id, Message.channel, func.max(Message.created_at))
            .where(
                Message.contact_id.in_(sorted(set(contact_ids))),
                Message.channel.in_(channels),
                Message.direction == "in",
            )
            .group_by(Message.contact_id, Message.channel)
        )
        rows = (await self.session.execute(stmt)).all()
        return {(contact, channel): at for contact, channel, at in rows if at is not None}

    async def transcript(self, invitation_id: str) -> Sequence[Message]:
        stmt = select(Message).where(Message.invitation_id == invitation_id).order_by(Message.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def opt_outs_of(self, contact_id: int) -> Sequence[OptOut]:
        """The contact's opt-outs, one per channel, oldest first."""
        stmt = select(OptOut).where(OptOut.contact_id == contact_id).order_by(OptOut.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def invitations_of(self, contact_id: int, limit: int) -> list[tuple[Invitation, str]]:
        """The contact's newest invitations, each with its survey's key."""
        stmt = (
            select(Invitation, SurveyRow.key)
            .join(SurveyRow, SurveyRow.id == Invitation.survey_id)
            .where(Invitation.contact_id == contact_id)
            .order_by(Invitation.created_at.desc(), Invitation.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]


class ResponseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, response: Response) -> Response:
        self.session.add(response)
        await self.session.flush()
        return response

    async def add_many(self, responses: Sequence[Response]) -> None:
        self.session.add_all(responses)
        await self.session.flush()

    async def imported_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these import digests are stored already (looked up 500 at a time)."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            stmt = select(Response.import_key).where(Response.import_key.in_(chunk))
            found.update(key for key in (await self.session.execute(stmt)).scalars() if key)
        return found

    async def for_invitation(self, invitation_id: str) -> Response | None:
        result = await self.session.execute(
            select(Response).where(Response.invitation_id == invitation_id)
        )
        return result.scalar_one_or_none()

    async def count_for_survey(
        self, survey_id: int, *, since: datetime | None = None, until: datetime | None = None
    ) -> int:
        stmt = (
            select(func.count())
            .select_from(Response)
            .where(Response.survey_id == survey_id, counted())
        )
        if since is not None:
            stmt = stmt.where(Response.answered_at >= since)
        if until is not None:
            stmt = stmt.where(Response.answered_at < until)
        return int((await self.session.execute(stmt)).scalar_one())

    async def list_for_survey(
        self,
        survey_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[tuple[Response, str, str]]:
        """Responses newest first (none of test conversations), with the survey key and the
        contact's external id."""
        stmt = (
            select(Response, SurveyRow.key, Contact.external_id)
            .join(SurveyRow, SurveyRow.id == Response.survey_id)
            .join(Contact, Contact.id == Response.contact_id)
            .where(Response.survey_id == survey_id, counted())
        )
        if since is not None:
            stmt = stmt.where(Response.answered_at >= since)
        if until is not None:
            stmt = stmt.where(Response.answered_at < until)
        stmt = stmt.order_by(Response.answered_at.desc(), Response.id.desc())
        rows = (await self.session.execute(stmt.limit(limit).offset(offset))).all()
        return [(r[0], r[1], r[2]) for r in rows]


__all__ = ["Invitation", "MessageRepository", "ResponseRepository"]
