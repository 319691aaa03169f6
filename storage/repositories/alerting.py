"""Alert rules, digests and health notices: kept, listed, removed, and what was already told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col as sa_column

from storage.alerting import AlertRule, Digest, DigestSent, HealthNotice
from storage.models import Invitation, InvitationStatus, SurveyRow
from storage.outbound import Delivery, DeliveryStatus
from storage.repositories._dialect import upsert_insert


def alert_target(rule_id: int) -> str:
    """The delivery target of a rule's alerts."""
    return f"alert:{rule_id}"


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rule: AlertRule) -> AlertRule:
        self.session.add(rule)
        await self.session.flush()
        return rule

    async def get(self, rule_id: int) -> AlertRule | None:
        row = await self.session.get(AlertRule, rule_id)
        return None if row is None or row.deleted_at is not None else row

    async def all(self, survey_id: int | None = None) -> list[tuple[AlertRule, str]]:
        """The rules not removed, oldest first, each with its survey's key."""
        stmt = (
            select(AlertRule, SurveyRow.key)
            .join(SurveyRow, SurveyRow.id == AlertRule.survey_id)
            .where(sa_column(AlertRule.deleted_at).is_(None))
            .order_by(AlertRule.id)
        )
        if survey_id is not None:
            stmt = stmt.where(AlertRule.survey_id == survey_id)
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def count(self, survey_id: int) -> int:
        stmt = select(func.count()).where(
            AlertRule.survey_id == survey_id, sa_column(AlertRule.deleted_at).is_(None)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def remove(self, rule_id: int, now: datetime) -> int:
        """Mark it removed and drop its alerts not sent yet; how many were dropped."""
        await self.session.execute(
            update(AlertRule).where(AlertRule.id == rule_id).values(deleted_at=now)
        )
        dropped = await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(
                Delivery.target == alert_target(rule_id),
                Delivery.status == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.DROPPED, finished_at=now, last_error="rule removed")
        )
        return int(dropped.rowcount or 0)

    async def narrow(self, delivery_id: int, lease_until: datetime, payload: str) -> bool:
        """Keep only what is left to send of an alert (a part that went out is not sent
        again on a retry), if the caller still holds the delivery's lease."""
        result = await self.session.execute(
            update(Delivery)
            .execution_options(synchronize_session=False)
            .where(Delivery.id == delivery_id, Delivery.lease_until == lease_until)
            .values(payload=payload)
        )
        return bool(result.rowcount)


class DigestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, digest: Digest) -> Digest:
        self.session.add(digest)
        await self.session.flush()
        return digest

    async def get(self, digest_id: int) -> tuple[Digest, SurveyRow] | None:
        stmt = (
            select(Digest, SurveyRow)
            .join(SurveyRow, SurveyRow.id == Digest.survey_id)
            .where(Digest.id == digest_id, sa_column(Digest.deleted_at).is_(None))
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def all(self) -> list[tuple[Digest, SurveyRow]]:
        """The digests not removed, oldest first, each with its survey."""
        stmt = (
            select(Digest, SurveyRow)
            .join(SurveyRow, SurveyRow.id == Digest.survey_id)
            .where(sa_column(Digest.deleted_at).is_(None))
            .order_by(Digest.id)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def remove(self, digest_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Digest).where(Digest.id == digest_id).values(deleted_at=now)
        )

    async def claim(self, digest_id: int, period_start: str, now: datetime) -> bool:
        """Take a period to send; False when it was sent, or is being sent, already."""
        stmt = (
            upsert_insert(self.session, DigestSent)
            .values(digest_id=digest_id, period_start=period_start, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["digest_id", "period_start"])
            .returning(DigestSent.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def sent(self, digest_id: int, period_start: str, now: datetime) -> None:
        await self.session.execute(
            update(DigestSent)
            .where(DigestSent.digest_id == digest_id, DigestSent.period_start == period_start)
            .values(sent_at=now)
        )

    async def release(self, digest_id: int, period_start: str) -> None:
        """Give a claimed period back (its mail failed): the next tick tries again."""
        await self.session.execute(
            delete(DigestSent).where(
                DigestSent.digest_id == digest_id,
                DigestSent.period_start == period_start,
                sa_column(DigestSent.sent_at).is_(None),
            )
        )

    async def release_stale(self, before: datetime) -> int:
        """Give back claims never marked sent since `before` (their process died mid-send)."""
        result = await self.session.execute(
            delete(DigestSent).where(
                sa_column(DigestSent.sent_at).is_(None), DigestSent.claimed_at < before
            )
        )
        return int(result.rowcount or 0)

    async def sent_periods(self, digest_id: int, limit: int = 10) -> list[DigestSent]:
        stmt = (
            select(DigestSent)
            .where(DigestSent.digest_id == digest_id)
            .order_by(DigestSent.period_start.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())


class HealthRepository:
    """The counts health checks read (sends by survey, outcomes by channel) and their notices."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sends_by_survey(self, since: datetime, until: datetime) -> dict[int, int]:
        """Invitations sent in [since, until) per survey (test conversations left out)."""
        stmt = (
            select(Invitation.survey_id, func.count())
            .where(
                Invitation.sent_at >= since,
                Invitation.sent_at < until,
                sa_column(Invitation.test).is_(False),
            )
            .group_by(Invitation.survey_id)
        )
        return {survey_id: int(n) for survey_id, n in (await self.session.execute(stmt)).all()}

    async def outcomes_by_channel(
        self, since: datetime, until: datetime
    ) -> dict[str, tuple[int, int]]:
        """Per channel, (sends, failures) in [since, until): a send is a question that went
        out or failed for good without going out; a failure is one that failed for good."""
        window: list[Any] = [sa_column(Invitation.test).is_(False)]
        sent = select(Invitation.channel, func.count()).where(
            *window, Invitation.sent_at >= since, Invitation.sent_at < until
        )
        failed = select(
            Invitation.channel,
            func.count(),
            func.sum(case((sa_column(Invitation.sent_at).is_(None), 1), else_=0)),
        ).where(
            *window,
            Invitation.status == InvitationStatus.FAILED,
            Invitation.updated_at >= since,
            Invitation.updated_at < until,
        )
        counts: dict[str, list[int]] = {}
        for channel, n in (await self.session.execute(sent.group_by(Invitation.channel))).all():
            counts.setdefault(channel, [0, 0])[0] += int(n)
        for channel, n, unsent in (
            await self.session.execute(failed.group_by(Invitation.channel))
        ).all():
            entry = counts.setdefault(channel, [0, 0])
            entry[0] += int(unsent or 0)
            entry[1] += int(n)
        return {channel: (sends, fails) for channel, (sends, fails) in counts.items()}

    async def note(self, notice: HealthNotice) -> bool:
        """Record a notice; False when this one (kind, subject, period) was recorded already."""
        stmt = (
            upsert_insert(self.session, HealthNotice)
            .values(
                kind=notice.kind,
                subject=notice.subject,
                period=notice.period,
                message=notice.message[:1000],
                created_at=notice.created_at,
            )
            .on_conflict_do_nothing(index_elements=["kind", "subject", "period"])
            .returning(HealthNotice.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def forget(self, kind: str, subject: str, period: str) -> None:
        """Drop a notice that could not be told (the next check tells it again)."""
        await self.session.execute(
            delete(HealthNotice).where(
                HealthNotice.kind == kind,
                HealthNotice.subject == subject,
                HealthNotice.period == period,
            )
        )

    async def recent(self, limit: int = 50) -> list[HealthNotice]:
        stmt = select(HealthNotice).order_by(HealthNotice.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
