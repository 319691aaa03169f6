"""Invitations: creation, throttle look-ups, the dispatcher's leased claims, conversation look-ups."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Contact,
    Invitation,
    InvitationStatus,
    Message,
    OptOut,
    Response,
    Step,
    SurveyRow,
)
from storage.outbound import Event
from storage.records import (
    CONTACT_COLUMNS,
    INVITATION_COLUMNS,
    ContactRecord,
    InvitationRecord,
)
from storage.repositories.contacts import ADDRESS_FIELDS
from storage.repositories.rows import changed, update_by_id, values_of

Status = InvitationStatus


@dataclass(slots=True)
class Conversation:
    """An invitation with its survey, contact, response so far, and the contact's opt-out."""

    invitation: Invitation
    survey: SurveyRow
    contact: Contact
    response: Response | None
    opted_out: bool


# Where a reply lands: the newest invitation sent on its channel, finished ones too.
REPLYABLE = (*Status.OPEN, Status.EXPIRED, Status.COMPLETED, Status.CLOSED)


@cache
def _conversation_statements(kind: str) -> tuple[Select[Any], Select[Any]]:
    """The read of a conversation, and that read locking its invitation, by id (`kind` "id") or
    by a contact's address field; built once, as building a statement costs more than running it.
    """
    invitations, contacts = Invitation.__table__.c, Contact.__table__.c
    if kind == "id":
        which: Any = bindparam("invitation_id")
    else:
        contact = (
            select(contacts.id)
            .where(contacts[kind] == bindparam("address"))
            .order_by(contacts.id)
            .limit(1)
            .scalar_subquery()
        )
        which = (
            select(invitations.id)
            .where(
                invitations.contact_id == contact,
                invitations.channel == bindparam("channel"),
                invitations.status.in_(REPLYABLE),
            )
            .order_by(invitations.sent_at.desc())
            .limit(1)
            .scalar_subquery()
        )
    opted_out = (
        select(OptOut.id)
        .where(OptOut.contact_id == Invitation.contact_id, OptOut.channel == Invitation.channel)
        .exists()
        .label("opted_out")
    )
    read = (
        select(Invitation, SurveyRow, Contact, Response, opted_out)
        .join(SurveyRow, SurveyRow.id == Invitation.survey_id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.id == which)
        .execution_options(populate_existing=True)
    )
    # PostgreSQL: locked and read in one statement. A statement that waited for the lock gets
    # the invitation as the other transaction left it but everything joined to it (the
    # response, …) as it was before the wait: PostgreSQL rechecks only the locked row. The
    # invitation's row version (ctid) as this statement's snapshot saw it tells that case
    # apart; the caller then reads again, in a statement of its own.
    seen = Invitation.__table__.alias("seen")
    seen_version = (
        select(literal_column("seen.ctid")).where(seen.c.id == Invitation.id).scalar_subquery()
    )
    current = (literal_column("invitation.ctid") == seen_version).label("current")
    locking = read.add_columns(current).with_for_update(of=Invitation)
    return read, locking


@cache
def _messages_insert() -> Any:
    """Messages in one round trip on SQLite, the inbound one only if its provider id is new."""
    table = Message.__table__
    return (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_message_id"])
        .returning(table.c.direction)
    )


MESSAGE_COLUMNS = tuple(c.key for c in Message.__table__.columns if c.key != "id")


EVENT_COLUMNS = tuple(c.key for c in Event.__table__.columns if c.key != "id")


@lru_cache(maxsize=256)
def _turn_statement(
    messages: int,
    moved: tuple[str, ...],
    answer: tuple[str, tuple[str, ...]] | None,
    events: int = 0,
) -> Any:
    """PostgreSQL: a turn's writes in one statement, built and compiled once per shape (how many
    messages, which columns change; a multi-row VALUES would be compiled on every call).

    The messages come in parameter order (`ORDER BY n`), so their ids keep the transcript's.
    """
    table, invitations, responses = Message.__table__, Invitation.__table__, Response.__table__

    def bound(table: Any, prefix: str, columns: Sequence[str]) -> dict[str, Any]:
        return {c: bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns}

    rows = union_all(
        *(
            select(
                literal(n).label("n"),
                *(p.label(c) for c, p in bound(table, f"m{n}", MESSAGE_COLUMNS).items()),
            )
            for n in range(messages)
        )
    ).subquery("rows")
    stmt = (
        postgresql.insert(table)
        .from_select(
            MESSAGE_COLUMNS, select(*(rows.c[c] for c in MESSAGE_COLUMNS)).order_by(rows.c.n)
        )
        .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_message_id"])
    )
    returned: list[Any] = [table.c.direction]
    if moved:
        update_ = invitations.update().where(invitations.c.id == bindparam("i_id"))
        stmt = stmt.add_cte(update_.values(bound(invitations, "i", moved)).cte("moved"))
    if answer is not None and answer[0] == "insert":
        added = postgresql.insert(responses).values(bound(responses, "r", answer[1]))
        cte = added.returning(responses.c.id).cte("answered")
        stmt = stmt.add_cte(cte)
        returned.append(select(cte.c.id).scalar_subquery())
    elif answer is not None:
        update_ = responses.update().where(responses.c.id == bindparam("r_id"))
        stmt = stmt.add_cte(update_.values(bound(responses, "r", answer[1])).cte("answered"))
    if events:
        stmt = stmt.add_cte(
            _events_cte(events, new_response=cte if answer and answer[0] == "insert" else None)
        )
    return stmt.returning(*returned)


def _events_cte(count: int, *, new_response: Any) -> Any:
    """The turn's outbox events as one more WITH query; a response event of a turn that adds the
    response takes the new row's id (its own `response_id` is null then)."""
    table = Event.__table__

    def column(n: int, name: str) -> Any:
        param = bindparam(f"e{n}_{name}", type_=table.c[name].type)
        if name == "response_id" and new_response is not None:
            return func.coalesce(param, select(new_response.c.id).scalar_subquery())
        return param

    rows = union_all(
        *(
            select(literal(n).label("n"), *(column(n, c).label(c) for c in EVENT_COLUMNS))
            for n in range(count)
        )
    ).subquery("event_rows")
    added = postgresql.insert(table).from_select(
        EVENT_COLUMNS, select(*(rows.c[c] for c in EVENT_COLUMNS)).order_by(rows.c.n)
    )
    return added.cte("announced")


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

    async def by_idempotency_keys(
        self, keys: Sequence[str], *, lock: bool = False
    ) -> list[Invitation]:
        """The invitations stored under any of these (scoped) idempotency keys."""
        if not keys:
            return []
        stmt = select(Invitation).where(Invitation.idempotency_key.in_(list(keys)))
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return list(result.scalars().all())

    async def conversation(
        self, invitation_id: str, *, lock: bool = False, detached: bool = False
    ) -> Conversation | None:
        """Everything one conversation turn needs (the invitation row-locked when asked).

        `detached` rows are not tracked by the session: the caller writes their changes itself
        (`write_turn`), and no flush writes them again.
        """
        params = {"invitation_id": invitation_id}
        return await self._conversation("id", params, lock=lock, detached=detached)

    async def conversation_at(
        self, field: str, address: str, channel: str, *, lock: bool = False, detached: bool = False
    ) -> Conversation | None:
        """The conversation a reply from `address` on `channel` belongs to: the newest invitation
        sent there (finished ones too: late replies, START) to the first contact whose `field`
        holds the address. None when that contact has none there, or there is no such contact."""
        if field not in ADDRESS_FIELDS:
            raise ValueError(f"{field!r} is not a contact's address field")
        params = {"address": address, "channel": channel}
        return await self._conversation(field, params, lock=lock, detached=detached)

    async def write_turn(
        self,
        messages: Sequence[dict[str, Any]],
        conversation: Conversation,
        seen: tuple[dict[str, Any], dict[str, Any] | None],
        events: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Write a turn of a detached conversation: its messages (every column but the id; the
        inbound first, stored only if its provider id is new) and what changed in its invitation
        and response since `seen` (their `values_of` when read; None: a new response, whose id
        is set). False when the inbound was stored before (a redelivery): the caller rolls back.

        `events` are the outbox rows the turn announced (every column but the id; a response
        event's `response_id` is null when the turn adds the response, and is filled in here).

        One statement on PostgreSQL (the row changes as WITH queries), one per row on SQLite.
        """
        invitation, response = conversation.invitation, conversation.response
        moved = changed(invitation, seen[0])
        new = response is not None and seen[1] is None
        answer: dict[str, Any] = {}  # the response's columns to write
        if response is not None and seen[1] is None:
            answer = {key: value for key, value in values_of(response).items() if key != "id"}
        elif response is not None and seen[1] is not None:
            answer = changed(response, seen[1])
        if self.session.bind.dialect.name != "postgresql":
            return await self._write_rows(
                messages, conversation, moved, answer, new=new, events=events
            )
        params: dict[str, Any] = {"i_id": invitation.id, "r_id": response and response.id}
        for n, message in enumerate(messages):
            params.update({f"m{n}_{key}": value for key, value in message.items()})
        params.update({f"i_{key}": value for key, value in moved.items()})
        params.update({f"r_{key}": value for key, value in answer.items()})
        mode = ("insert" if new else "update", tuple(answer)) if answer else None
        for n, event in enumerate(events):
            params.update({f"e{n}_{key}": value for key, value in event.items()})
        stmt = _turn_statement(len(messages), tuple(moved), mode, len(events))
        rows = (await self.session.execute(stmt, params)).all()
        if not any(row[0] == "in" for row in rows):
            return False
        if new and response is not None:
            response.id = rows[0][1]
        return True

    async def _write_rows(
        self,
        messages: Sequence[dict[str, Any]],
        conversation: Conversation,
        moved: dict[str, Any],
        answer: dict[str, Any],
        *,
        new: bool,
        events: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """`write_turn`, one statement per table (SQLite has no WITH queries that write)."""
        stored = await self.session.execute(_messages_insert(), list(messages))
        if "in" not in stored.scalars().all():
            return False
        if moved:
            params = {**moved, "b_id": conversation.invitation.id}
            await self.session.execute(update_by_id(Invitation.__table__), params)
        response = conversation.response
        if response is not None and new:
            added = await self.session.execute(Response.__table__.insert(), answer)
            response.id = added.inserted_primary_key[0]
        elif response is not None and answer:
            params = {**answer, "b_id": response.id}
            await self.session.execute(update_by_id(Response.__table__), params)
        if events:
            rows = [
                {**e, "response_id": e["response_id"] or (response.id if response else None)}
                if e["type"].startswith("response.")
                else e
                for e in events
            ]
            await self.session.execute(Event.__table__.insert(), rows)
        return True

    async def _conversation(
        self, kind: str, params: dict[str, str], *, lock: bool, detached: bool
    ) -> Conversation | None:
        read, locking = _conversation_statements(kind)
        if lock and self.session.bind.dialect.name == "postgresql":
            row = (await self.session.execute(locking, params)).first()
            if row is not None and not row.current:  # changed while this waited for the lock
                read, params = _conversation_statements("id")[0], {"invitation_id": row[0].id}
                row = (await self.session.execute(read, params)).first()
        else:  # SQLite: the transaction holds the database's write lock from its first statement
            row = (await self.session.execute(read, params)).first()
        if row is None:
            return None
        if detached:
            for loaded in row[:4]:
                if loaded is not None:
                    self.session.expunge(loaded)
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
                Invitation.status.in_(REPLYABLE),
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

    def _channel_filter(
        self, stmt: Any, only: str | None, exclude: Collection[str], channel: Any = None
    ) -> Any:
        channel = Invitation.channel if channel is None else channel
        if only is not None:
            return stmt.where(channel == only)
        if exclude:
            return stmt.where(channel.not_in(list(exclude)))
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
        channel: Any = None,
    ) -> list[str]:
        """Update up to `limit` rows picked by `due` (skipping rows other workers hold); `only`
        and `exclude` name channels of `channel` (the invitation's by default)."""
        if limit <= 0:
            return []
        picked = self._skip_locked(self._channel_filter(due.limit(limit), only, exclude, channel))
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
        # A reminder goes out on (and is counted against the rate limit of) its own channel.
        channel = func.coalesce(Invitation.remind_on, Invitation.channel)
        return await self._lease(due, limit, only, exclude, values, channel)

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
        # The channel the send goes out on: a reminder's own, when it has one.
        channel = func.coalesce(invitations.remind_on, invitations.channel)
        opted_out = (
            select(OptOut.id)
            .where(OptOut.contact_id == invitations.contact_id, OptOut.channel == channel)
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

    # Channel fallback (bot.invitations.fallback); the failed channels are ChannelFailures'.

    async def sent_on(self, invitation_id: str, channel: str) -> bool:
        """Whether the invitation's question or a reminder went out on `channel` (it may have
        moved to another channel since)."""
        stmt = (
            select(Message.id)
            .where(
                Message.invitation_id == invitation_id,
                Message.channel == channel,
                Message.direction == "out",
                Message.provider_message_id.is_not(None),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def moved_from(self, contact_id: int, channel: str) -> str | None:
        """The contact's newest conversation still waiting for answers that went out on
        `channel` and has moved to another since (a reminder on the next channel): a reply
        on `channel` still answers it."""
        sent_there = (
            select(Message.id)
            .where(
                Message.invitation_id == Invitation.id,
                Message.channel == channel,
                Message.direction == "out",
                Message.provider_message_id.is_not(None),
            )
            .exists()
        )
        stmt = (
            select(Invitation.id)
            .where(
                Invitation.contact_id == contact_id,
                Invitation.channel != channel,
                Invitation.status.in_(Status.OPEN),
                Invitation.step != Step.DONE,
                sent_there,
            )
            .order_by(Invitation.sent_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_by_status(self) -> dict[str, int]:
        stmt = select(Invitation.status, func.count()).group_by(Invitation.status)
        return {status: count for status, count in (await self.session.execute(stmt)).all()}
