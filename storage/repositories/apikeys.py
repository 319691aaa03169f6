"""API keys: created once in plain text, stored and checked as SHA-256 hashes, with scopes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiKey
from storage.types import utcnow

KEY_PREFIX = "sb_"
# What a key may do; `admin` may do everything, so it implies the others.
SCOPES = ("triggers", "read", "admin")
DEFAULT_SCOPES = ("admin",)
# Names are shown in tables and used in a URL path (DELETE /api/v1/apikeys/{name}).
NAME_RULE = "1 to 100 letters, digits, spaces or . : @ + - _"
_NAME = re.compile(r"[\w .:@+-]{1,100}")
# How stale last_used_at may get: one write per key per minute keeps the hot path cheap.
TOUCH_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """The name, trimmed; ValueError naming the rule when it does not follow it."""
    trimmed = name.strip()
    if not _NAME.fullmatch(trimmed):
        raise ValueError(f"an API key's name must be {NAME_RULE}")
    return trimmed


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in their canonical order (none given: admin); ValueError naming an unknown one."""
    given = [scope.strip() for scope in scopes]
    for scope in given:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}: use {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in given) or DEFAULT_SCOPES


def scopes_of(key: ApiKey) -> tuple[str, ...]:
    return tuple(key.scopes.split())


def allows(key: ApiKey, scope: str) -> bool:
    """Whether the key may act in `scope` (an admin key may do everything)."""
    held = scopes_of(key)
    return scope in held or "admin" in held


def needs_touch(key: ApiKey, now: datetime) -> bool:
    """Whether a use of this key should be written (the last one is TOUCH_EVERY old or more)."""
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        name: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        *,
        now: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key; the plain text is returned once and never stored."""
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(
            name=name,
            prefix=plain[:10],
            key_hash=hash_key(plain),
            scopes=" ".join(check_scopes(scopes)),
            created_at=now or utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        return row, plain

    async def verify(self, plain: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, key_id: int) -> ApiKey | None:
        """The key with this id, revoked or not."""
        return await self.session.get(ApiKey, key_id)

    async def list_all(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        return list((await self.session.execute(stmt)).scalars())

    async def revoke(self, name: str, now: datetime) -> int:
        """Revoke every active key with this name; how many were revoked."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount)

    async def touch(self, key_id: int, now: datetime) -> bool:
        """Record a use, unless one was recorded less than TOUCH_EVERY ago (by any process)."""
        stmt = (
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at <= now - TOUCH_EVERY,
                ),
            )
            .values(last_used_at=now)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)
