"""Failed channels: the sends of an invitation a channel could not make (channel fallback)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelFailure


class ChannelFailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, failure: ChannelFailure) -> None:
        """Record a channel that could not make one of an invitation's sends."""
        self.session.add(failure)
        await self.session.flush()

    async def of_invitation(self, invitation_id: str) -> list[ChannelFailure]:
        """The channels that failed the invitation, oldest first."""
        stmt = (
            select(ChannelFailure)
            .where(ChannelFailure.invitation_id == invitation_id)
            .order_by(ChannelFailure.failed_at, ChannelFailure.id)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def channels_of(self, ids: Sequence[str]) -> dict[str, set[str]]:
        """The channels that failed each of these invitations (those with none left out)."""
        if not ids:
            return {}
        stmt = select(ChannelFailure.invitation_id, ChannelFailure.channel).where(
            ChannelFailure.invitation_id.in_(list(ids))
        )
        failed: dict[str, set[str]] = {}
        for invitation_id, channel in (await self.session.execute(stmt)).all():
            failed.setdefault(invitation_id, set()).add(channel)
        return failed
