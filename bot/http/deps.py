"""FastAPI dependencies: the running services, a unit of work, the API key and its scopes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import Forbidden, TooManyRequests, Unauthorized
from bot.http import auth_throttle
from bot.runtime.services import ServicesDep
from storage.models import ApiKey
from storage.repositories.apikeys import allows, needs_touch
from storage.uow import UnitOfWork

log = logging.getLogger("bot.http")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="An API key from `surveybot apikey create`")
_READING = frozenset({"GET", "HEAD"})


async def get_uow(services: ServicesDep) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(services.sessions) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_read_uow(services: ServicesDep) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(services.read_sessions) as uow:
        yield uow


ReadUowDep = Annotated[UnitOfWork, Depends(get_read_uow)]


async def require_api_key(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The caller's key row; 401 without a valid one, 429 after too many wrong ones."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send Authorization: Bearer <key>", headers=_CHALLENGE)
    now = services.clock()
    async with UnitOfWork(services.read_sessions) as uow:
        key = await uow.api_keys.verify(credentials.credentials)
    if key is None:
        throttle = auth_throttle.for_app(request.app)
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(address, now)
        if wait is not None:
            raise TooManyRequests(
                f"too many wrong API keys from this address; try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )
        throttle.failed(address, now)
        raise Unauthorized("invalid API key", headers=_CHALLENGE)
    if needs_touch(key, now) and key.id is not None:
        # At most one write per key per minute: the hot path stays a single indexed read.
        try:
            async with UnitOfWork(services.sessions) as uow:
                await uow.api_keys.touch(key.id, now)
                await uow.commit()
        except SQLAlchemyError:
            # Bookkeeping only: the request goes on (the next minute tries again).
            log.warning("could not record the use of API key %s", key.id)
        else:
            key.last_used_at = now
    return key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]


def _check(key: ApiKey, scope: str) -> ApiKey:
    if not allows(key, scope):
        raise Forbidden(f"this API key lacks the {scope} scope", field="scope")
    return key


def require_scope(scope: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that lets through only keys holding `scope` (or admin); 403 otherwise."""

    async def scoped(key: ApiKeyDep) -> ApiKey:
        return _check(key, scope)

    return scoped


def require_scopes(*, read: str, write: str) -> Callable[[Request, ApiKey], Awaitable[ApiKey]]:
    """Like require_scope, with `read` for GET and HEAD and `write` for every other method."""

    async def scoped(request: Request, key: ApiKeyDep) -> ApiKey:
        return _check(key, read if request.method in _READING else write)

    return scoped
