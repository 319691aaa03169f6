"""FastAPI dependencies: the running services, a unit of work, the API key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.runtime.services import ServicesDep
from storage.models import ApiKey
from storage.uow import UnitOfWork

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
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with UnitOfWork(services.read_sessions) as uow:
        key = await uow.api_keys.verify(credentials.credentials)
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
