"""FastAPI dependencies: the running services, a unit of work, the API key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.errors import Unauthorized
from bot.runtime.services import ServicesDep
from storage.models import ApiKey
from storage.uow import UnitOfWork

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="An API key from `surveybot apikey create`")


async def get_uow(services: ServicesDep) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(services.sessions) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_read_uow(services: ServicesDep) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(services.read_sessions) as uow:
        yield uow


ReadUowDep = Annotated[UnitOfWork, Depends(get_read_uow)]


async def require_api_key(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send Authorization: Bearer <key>", headers=_CHALLENGE)
    async with UnitOfWork(services.read_sessions) as uow:
        key = await uow.api_keys.verify(credentials.credentials)
    if key is None:
        raise Unauthorized("invalid API key", headers=_CHALLENGE)
    return key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
