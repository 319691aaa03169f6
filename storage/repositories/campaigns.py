"""Campaigns and their runs: due-run inserts, leased claims, and the bulk queries a run pages through."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Campaign,
    CampaignRun,
    CampaignStatus,
    Contact,
    Invitation,
    InvitationStatus,
    OptOut,
    RunStatus,
    SurveyRow,
)
from storage.repositories._dialect import upsert_insert
from storage.repositories.contacts import not_test_contact
from storage.types import UTCDateTime


def _at(moment: datetime) -> Any:
    """A datetime bound with the UTC column type (inside functions SQL cannot infer it)."""
    return sa.literal(moment, UTCDateTime())


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, campaign: Campaign) -> Campaign:
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id, populate_existing=True)

    async def get_by_name(self, name: str, *, lock: bool = False) -> Campaign | None:
        stmt = select(Campaign).where(Campaign.name == name)
        if lock:
            stmt = stmt.with_for_update()
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def with_survey_keys(self, *, status: str | None = None) -> list[tuple[Campaign, str]]:
        """Campaigns by name, each with its survey's key."""
        stmt = (
            select(Campaign, SurveyRow.key)
            .join(SurveyRow, SurveyRow.id == Campaign.survey_id)
            .order_by(Campaign.name)
        )
        if status is not None:
            stmt = stmt.where(Campaign.status == status)
        rows = (await self.session.execute(stmt)).all()
        return [(row[0], row[1]) for row in rows]

    async def active(self) -> Sequence[Campaign]:
        stmt = (
            select(Campaign).where(Campaign.status == CampaignStatus.ACTIVE).order_by(Campaign.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def advance_last_fire(self, campaign_id: int, fire_at: datetime) -> bool:
        """Move `last_fire_at` forward to `fire_at` (never back: a slower process cannot undo it)."""
        stmt = (
            update(Campaign)
            .where(
                Campaign.id == campaign_id,
                or_(Campaign.last_fire_at.is_(None), Campaign.last_fire_at < fire_at),
            )
            .values(last_fire_at=fire_at)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def lock(self, campaign_id: int) -> None:
        """Hold the campaign's row until the transaction ends (PostgreSQL; SQLite has one writer)."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                select(Campaign.id).where(Campaign.id == campaign_id).with_for_update()
            )

    async def transition_invitations(
        self, campaign_id: int, from_statuses: Sequence[str], **values: Any
    ) -> int:
        """Move the campaign's invitations still in one of `from_statuses`; how many moved."""
        stmt = (
            update(Invitation)
            .where(Invitation.campaign_id == campaign_id, Invitation.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(stmt)).rowcount)

    async def delete(self, campaign_id: int) -> tuple[int, int]:
        """Delete a campaign and its runs; its invitations stay, no longer pointing at them.

        Returns (runs deleted, invitations kept).
        """
        detach = (
            update(Invitation)
            .where(Invitation.campaign_id == campaign_id)
            .values(campaign_id=None, campaign_run_id=None)
            .execution_options(synchronize_session=False)
        )
        kept = int((await self.session.execute(detach)).rowcount)
        runs = await self.session.execute(
            delete(CampaignRun).where(CampaignRun.campaign_id == campaign_id)
        )
        await self.session.execute(delete(Campaign).where(Campaign.id == campaign_id))
        return int(runs.rowcount), kept


class CampaignRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(
        self, campaign_id: int, scheduled_for: datetime, kind: str, now: datetime
    ) -> int | None:
        """A pending run for (campaign, time), or None when that run already exists."""
        stmt = (
            upsert_insert(self.session, CampaignRun)
            .values(
                campaign_id=campaign_id,
                scheduled_for=scheduled_for,
                kind=kind,
                status=RunStatus.PENDING,
                audience=0,
                invited=0,
                skipped=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["campaign_id", "scheduled_for"])
            .returning(CampaignRun.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, run_id: int) -> CampaignRun | None:
        return await self.session.get(CampaignRun, run_id, populate_existing=True)

    async def live(self, campaign_id: int, now: datetime) -> CampaignRun | None:
        """The campaign's run that an executor holds right now (running, lease not expired)."""
        stmt = select(CampaignRun).where(
            CampaignRun.campaign_id == campaign_id,
            CampaignRun.status == RunStatus.RUNNING,
            CampaignRun.lease_until >= now,
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def claim(self, run_id: int, now: datetime, lease_until: datetime) -> CampaignRun | None:
        """Lease a run that is pending, or whose executor's lease ran out; None if not claimable.

        A campaign runs one run at a time: a run is not claimed while another run of the same
        campaign is held. The campaign row is locked first, so two claimers queue up.
        """
        campaign_id = (
            await self.session.execute(
                select(CampaignRun.campaign_id).where(CampaignRun.id == run_id)
            )
        ).scalar_one_or_none()
        if campaign_id is None:
            return None
        await CampaignRepository(self.session).lock(campaign_id)
        other = aliased(CampaignRun)
        held_elsewhere = (
            select(other.id)
            .where(
                other.campaign_id == campaign_id,
                other.id != run_id,
                other.status == RunStatus.RUNNING,
                other.lease_until >= now,
            )
            .exists()
        )
        stmt = (
            update(CampaignRun)
            .where(
                CampaignRun.id == run_id,
                or_(
                    CampaignRun.status == RunStatus.PENDING,
                    (CampaignRun.status == RunStatus.RUNNING) & (CampaignRun.lease_until < now),
                ),
                ~held_elsewhere,
            )
            .values(
                status=RunStatus.RUNNING,
                lease_until=lease_until,
                started_at=func.coalesce(CampaignRun.started_at, _at(now)),
            )
            .returning(CampaignRun.id)
            .execution_options(synchronize_session=False)
        )
        if (await self.session.execute(stmt)).scalar_one_or_none() is None:
            return None
        return await self.get(run_id)

    async def renew(
        self, run_id: int, held_until: datetime, lease_until: datetime, **values: Any
    ) -> bool:
        """Extend our lease (and write `values`) if we still hold it: `held_until` is the token."""
        stmt = (
            update(CampaignRun)
            .where(
                CampaignRun.id == run_id,
                CampaignRun.status == RunStatus.RUNNING,
                CampaignRun.lease_until == held_until,
            )
            .values(lease_until=lease_until, **values)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def finish(self, run_id: int, held_until: datetime, now: datetime, **counts: Any) -> bool:
        stmt = (
            update(CampaignRun)
            .where(
                CampaignRun.id == run_id,
                CampaignRun.status == RunStatus.RUNNING,
                CampaignRun.lease_until == held_until,
            )
            .values(status=RunStatus.DONE, lease_until=None, finished_at=now, **counts)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)

    async def claimable(self, now: datetime, limit: int = 100) -> list[int]:
        """Runs waiting for an executor: pending, or running under an expired lease; oldest first."""
        stmt = (
            select(CampaignRun.id)
            .where(
                or_(
                    CampaignRun.status == RunStatus.PENDING,
                    (CampaignRun.status == RunStatus.RUNNING) & (CampaignRun.lease_until < now),
                )
            )
            .order_by(CampaignRun.scheduled_for, CampaignRun.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def previous_time(self, campaign_id: int, before: datetime) -> datetime | None:
        """The time of the campaign's newest run scheduled before `before` (any kind or status)."""
        stmt = select(sa.type_coerce(func.max(CampaignRun.scheduled_for), UTCDateTime())).where(
            CampaignRun.campaign_id == campaign_id, CampaignRun.scheduled_for < _at(before)
        )
        found: datetime | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return found

    async def recent(self, campaign_id: int, limit: int = 10) -> Sequence[CampaignRun]:
        stmt = (
            select(CampaignRun)
            .where(CampaignRun.campaign_id == campaign_id)
            .order_by(CampaignRun.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def latest(self, campaign_ids: Collection[int]) -> dict[int, CampaignRun]:
        """Each campaign's newest run."""
        if not campaign_ids:
            return {}
        newest = (
            select(func.max(CampaignRun.id))
            .where(CampaignRun.campaign_id.in_(list(campaign_ids)))
            .group_by(CampaignRun.campaign_id)
        )
        stmt = select(CampaignRun).where(CampaignRun.id.in_(newest.scalar_subquery()))
        return {run.campaign_id: run for run in (await self.session.execute(stmt)).scalars()}

    # The bulk queries one page of a run needs.

    async def audience_page(
        self, after: int, limit: int
    ) -> list[tuple[int, dict[str, Any], str | None]]:
        """(id, properties, time zone) of the next contacts by id: what counting an audience
        needs (the zone tells a date-relative campaign which day it is for the contact)."""
        stmt = (
            select(Contact.id, Contact.properties, Contact.timezone)
            .where(Contact.id > after, not_test_contact())
            .order_by(Contact.id)
            .limit(limit)
        )
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(stmt)).all()]

    async def contacts_page(self, after: int, limit: int) -> Sequence[Contact]:
        stmt = (
            select(Contact)
            .where(Contact.id > after, not_test_contact())
            .order_by(Contact.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def opted_out(
        self, contact_ids: Collection[int], channels: Collection[str]
    ) -> set[tuple[int, str]]:
        """(contact id, channel) pairs opted out among these contacts and channels."""
        if not contact_ids or not channels:
            return set()
        stmt = select(OptOut.contact_id, OptOut.channel).where(
            OptOut.contact_id.in_(list(contact_ids)), OptOut.channel.in_(list(channels))
        )
        return {(row[0], row[1]) for row in (await self.session.execute(stmt)).all()}

    async def surveyed_since(self, contact_ids: Collection[int], since: datetime) -> set[int]:
        """The contacts with an invitation scheduled or sent since then (any survey or channel)."""
        if not contact_ids:
            return set()
        stmt = (
            select(Invitation.contact_id)
            .where(
                Invitation.contact_id.in_(list(contact_ids)),
                Invitation.status.in_(InvitationStatus.SURVEYED),
                func.coalesce(Invitation.sent_at, Invitation.send_at) >= since,
            )
            .distinct()
        )
        return set((await self.session.execute(stmt)).scalars().all())

    async def last_invited(
        self, campaign_id: int, contact_ids: Collection[int], *, not_run: int | None = None
    ) -> dict[int, datetime]:
        """Per contact, when this campaign's newest invitation to them went (or was to go) out.

        Invitations of any status count (a skipped turn is a turn); those of run `not_run` do
        not, so a resumed run sees the same people as due as it did the first time.
        """
        if not contact_ids:
            return {}
        moment = func.max(func.coalesce(Invitation.sent_at, Invitation.send_at))
        where = [
            Invitation.campaign_id == campaign_id,
            Invitation.contact_id.in_(list(contact_ids)),
        ]
        if not_run is not None:
            where.append(Invitation.campaign_run_id != not_run)
        stmt = (
            select(Invitation.contact_id, sa.type_coerce(moment, UTCDateTime()))
            .where(*where)
            .group_by(Invitation.contact_id)
        )
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def taken_keys(self, keys: Collection[str], *, not_run: int) -> set[str]:
        """Those of `keys` some invitation holds already, apart from run `not_run`'s own (so a
        resumed run decides as it did the first time)."""
        if not keys:
            return set()
        stmt = select(Invitation.idempotency_key).where(
            Invitation.idempotency_key.in_(list(keys)),
            or_(Invitation.campaign_run_id.is_(None), Invitation.campaign_run_id != not_run),
        )
        return {key for key in (await self.session.execute(stmt)).scalars().all() if key}

    async def insert_invitations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert many invitations in one statement; rows whose idempotency key exists are kept."""
        if not rows:
            return
        stmt = upsert_insert(self.session, Invitation.__table__).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        await self.session.execute(stmt, list(rows))

    async def invitation_counts(self, run_id: int) -> dict[str, int]:
        """The run's invitations by status."""
        stmt = (
            select(Invitation.status, func.count())
            .where(Invitation.campaign_run_id == run_id)
            .group_by(Invitation.status)
        )
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def skip_reason_counts(self, run_id: int) -> dict[str, int]:
        """The run's skipped invitations by reason."""
        stmt = (
            select(Invitation.skip_reason, func.count())
            .where(
                Invitation.campaign_run_id == run_id,
                Invitation.status == InvitationStatus.SKIPPED,
            )
            .group_by(Invitation.skip_reason)
        )
        return {row[0] or "skipped": row[1] for row in (await self.session.execute(stmt)).all()}
