"""Invitations: creation, throttle look-ups, the dispatcher's leased claims, conversation look-ups."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Contact,
    Invitation,
    InvitationStatus,
    OptOut,
    Response,
    Step,
    SurveyRow,
)
from storage.records import (
    CONTACT_COLUMNS,
    INVITATION_COLUMNS,
    ContactRecord,
    InvitationRecord,
)

Status = InvitationStatus


@dataclass(slots=True)
class Conversation:
    """An invitation with its survey, contact, response so far, and the contact's opt-out."""

    invitation: Invitation
    survey: SurveyRow
    contact: Contact
    response: Response | None
    opted_out: bool


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def get(self, invitation_id: str, *, lock: bool = False) -> Invitation | None:
        stmt = select(Invitation).where(Invitation.id == invitation_id)
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def get_by_idempotency_key(self, key: str) -> Invitation | None:
        result = await self.session.execute(
            select(Invitation).where(Invitation.idempotency_key == key)
        )
        return result.scalar_one_or_none()

    async def conversation(self, invitation_id: str, *, lock: bool = False) -> Conversation | None:
        """Everything one conversation turn needs, in one query (row-locked when asked)."""
        opted_out = (
            select(OptOut.id)
            .where(OptOut.contact_id == Invitation.contact_id, OptOut.channel == Invitation.channel)
            .exists()
            .label("opted_out")
        )
        stmt = (
            select(Invitation, SurveyRow, Contact, Response, opted_out)
            .join(SurveyRow, SurveyRow.id == Invitation.survey_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(Invitation.id == invitation_id)
        )
        if lock:
            stmt = stmt.with_for_update(of=Invitation)
        row = (await self.session.execute(stmt.execution_options(populate_existing=True))).first()
        if row is None:
            return None
        return Conversation(row[0], row[1], row[2], row[3], bool(row[4]))

    async def surveyed_since(self, contact_id: int, since: datetime) -> bool:
        """Whether the contact had an invitation scheduled or sent (any survey/channel) since then."""
        stmt = (
            select(Invitation.id)
            .where(
                Invitation.contact_id == contact_id,
                Invitation.status.in_(Status.SURVEYED),
                func.coalesce(Invitation.sent_at, Invitation.send_at) >= since,
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def latest_open(
        self, contact_id: int, channel: str, *, lock: bool = False
    ) -> Invitation | None:
        """The newest invitation sent on a channel (finished ones too: late replies, START)."""
        stmt = (
            select(Invitation)
            .where(
                Invitation.contact_id == contact_id,
                Invitation.channel == channel,
                Invitation.status.in_(
                    (*Status.OPEN, Status.EXPIRED, Status.COMPLETED, Status.CLOSED)
                ),
            )
            .order_by(Invitation.sent_at.desc())
            .limit(1)
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def settle_interrupted(self, now: datetime, failed: Mapping[str, Any]) -> int:
        """Close out sends a dead worker had started: they may have gone out, so none is repeated.

        A question whose send had started is written `failed` (those values: the lifecycle's
        "interrupted" move); a reminder whose send had started counts as sent. Claims that never
        reached the provider (no `send_started_at`) are simply claimed again.
        """
        questions = (
            update(Invitation)
            .where(
                Invitation.status == Status.SENDING,
                Invitation.lease_until < now,
                Invitation.send_started_at.is_not(None),
            )
            .values(**failed)
            .execution_options(synchronize_session=False)
        )
        reminders = (
            update(Invitation)
            .where(
                Invitation.status == Status.SENT,
                Invitation.remind_at < now,
                Invitation.send_started_at.is_not(None),
            )
            .values(
                reminders_sent=Invitation.reminders_sent + 1,
                remind_at=None,
                send_started_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        first = await self.session.execute(questions)
        second = await self.session.execute(reminders)
        return int(first.rowcount) + int(second.rowcount)

    def _channel_filter(self, stmt: Any, only: str | None, exclude: Collection[str]) -> Any:
        if only is not None:
            return stmt.where(Invitation.channel == only)
        if exclude:
            return stmt.where(Invitation.channel.not_in(list(exclude)))
        return stmt

    def _skip_locked(self, stmt: Any) -> Any:
        if self.session.bind.dialect.name == "postgresql":
            return stmt.with_for_update(skip_locked=True)
        return stmt

    async def _lease(
        self,
        due: Any,
        limit: int,
        only: str | None,
        exclude: Collection[str],
        values: dict[str, Any],
    ) -> list[str]:
        """Update up to `limit` rows picked by `due` (skipping rows other workers hold)."""
        if limit <= 0:
            return []
        picked = self._skip_locked(self._channel_filter(due.limit(limit), only, exclude))
        stmt = (
            update(Invitation)
            .where(Invitation.id.in_(picked.scalar_subquery()))
            .values(**values)
            .returning(Invitation.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        only: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[str]:
        """Lease up to `limit` due invitations (or ones whose lease ran out) to this worker."""
        due = (
            select(Invitation.id)
            .where(
                or_(
                    (Invitation.status == Status.SCHEDULED) & (Invitation.send_at <= now),
                    (Invitation.status == Status.SENDING)
                    & (Invitation.lease_until < now)
                    & Invitation.send_started_at.is_(None),
                )
            )
            .order_by(Invitation.send_at)
        )
        values = {
            "status": Status.SENDING,
            "lease_until": lease_until,
            "attempts": Invitation.attempts + 1,
            "updated_at": now,
        }
        return await self._lease(due, limit, only, exclude, values)

    async def claim_reminders(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        only: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[str]:
        """Lease up to `limit` due reminders: unanswered, still open questions."""
        due = (
            select(Invitation.id)
            .where(
                Invitation.status == Status.SENT,
                Invitation.step == Step.AWAITING_SCORE,
                Invitation.remind_at <= now,
                Invitation.send_started_at.is_(None),
                or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
            )
            .order_by(Invitation.remind_at)
        )
        # The lease of a reminder is its remind_at moved past the lease.
        values = {"remind_at": lease_until, "updated_at": now}
        return await self._lease(due, limit, only, exclude, values)

    async def mark_opened(self, invitation_id: str, now: datetime) -> None:
        await self.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.opened_at.is_(None))
            .values(opened_at=now)
            .execution_options(synchronize_session=False)
        )

    async def mark_started(self, ids: Sequence[str], now: datetime) -> None:
        """Note that the provider is about to be called for these invitations."""
        if ids:
            await self.session.execute(
                update(Invitation)
                .where(Invitation.id.in_(list(ids)))
                .values(send_started_at=now)
                .execution_options(synchronize_session=False)
            )

    async def update_many(
        self, rows: Sequence[Mapping[str, Any]], from_statuses: Sequence[str]
    ) -> None:
        """Write per-invitation values in one round trip (executemany) to rows still in one of
        `from_statuses` (every row has the same columns)."""
        if not rows:
            return
        table = Invitation.__table__
        columns = [key for key in rows[0] if key != "id"]
        stmt = (
            table.update()
            # No IN (…): an expanding list cannot go into an executemany.
            .where(
                table.c.id == bindparam("b_id"),
                or_(*(table.c.status == status for status in from_statuses)),
            )
            .values({column: bindparam(f"b_{column}") for column in columns})
        )
        params = [{f"b_{key}": value for key, value in row.items()} for row in rows]
        await self.session.execute(stmt, params)

    async def for_dispatch(
        self, ids: Sequence[str]
    ) -> list[tuple[InvitationRecord, SurveyRow, ContactRecord, bool]]:
        """The claimed invitations with survey, contact and whether the contact opted out.

        Read as plain records, not ORM objects: a batch is hundreds of rows, and the dispatcher
        only reads them.
        """
        if not ids:
            return []
        invitations, contacts = Invitation.__table__.c, Contact.__table__.c
        opted_out = (
            select(OptOut.id)
            .where(
                OptOut.contact_id == invitations.contact_id, OptOut.channel == invitations.channel
            )
            .exists()
            .label("opted_out")
        )
        stmt = (
            select(
                *(invitations[name] for name in INVITATION_COLUMNS),
                *(contacts[name].label(f"c_{name}") for name in CONTACT_COLUMNS),
                opted_out,
            )
            .join_from(
                Invitation.__table__, Contact.__table__, contacts.id == invitations.contact_id
            )
            .where(invitations.id.in_(list(ids)))
        )
        rows = (await self.session.execute(stmt)).all()
        # A batch nearly always asks one survey: load each survey once, not once per row.
        survey_ids = {row.survey_id for row in rows}
        surveys = {
            survey.id: survey
            for survey in (
                await self.session.execute(select(SurveyRow).where(SurveyRow.id.in_(survey_ids)))
            ).scalars()
        }
        width = len(INVITATION_COLUMNS)
        result = []
        for row in rows:
            invitation = InvitationRecord(*row[:width])
            contact = ContactRecord(*row[width : width + len(CONTACT_COLUMNS)])
            result.append((invitation, surveys[invitation.survey_id], contact, bool(row[-1])))
        return result

    async def transition(
        self, invitation_id: str, from_statuses: Sequence[str], **values: Any
    ) -> bool:
        """Move an invitation forward only if it is still in one of `from_statuses`."""
        stmt = (
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.status.in_(from_statuses),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)

    async def transition_for_contact(
        self, contact_id: int, from_statuses: Sequence[str], **values: Any
    ) -> int:
        """Move every invitation of a contact still in one of `from_statuses`; how many moved."""
        stmt = (
            update(Invitation)
            .where(Invitation.contact_id == contact_id, Invitation.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)

    async def count_by_status(self) -> dict[str, int]:
        stmt = select(Invitation.status, func.count()).group_by(Invitation.status)
        return {status: count for status, count in (await self.session.execute(stmt)).all()}
