"""API keys: created once in plain text, stored and checked as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiKey

KEY_PREFIX = "sb_"


def hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str) -> tuple[ApiKey, str]:
        """A new key; the plain text is returned once and never stored."""
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(name=name, prefix=plain[:10], key_hash=hash_key(plain))
        self.session.add(row)
        await self.session.flush()
        return row, plain

    async def verify(self, plain: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()
