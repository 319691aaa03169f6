"""Deep-link claims: the first chat that uses a Telegram link keeps it."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkClaim


def link_digest(payload: str) -> str:
    # The payload is a credential while it is valid: only its hash is kept.
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LinkClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def chat_of(self, payload: str) -> str | None:
        """The chat that claimed this link, if any."""
        claim = await self.session.get(LinkClaim, link_digest(payload))
        return claim.chat_id if claim is not None else None

    async def claim(self, payload: str, chat_id: str, contact_id: int, now: datetime) -> None:
        """Bind the link to a chat; a concurrent claim by another chat fails on commit."""
        self.session.add(
            LinkClaim(
                digest=link_digest(payload), chat_id=chat_id, contact_id=contact_id, created_at=now
            )
        )
        await self.session.flush()
