"""/api/v1/apikeys: list, create and revoke API keys, with an admin key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from bot.errors import NotFound
from bot.http.deps import UowDep
from bot.http.schemas import API_ADMIN, API_ERRORS
from bot.runtime.services import ServicesDep
from storage.models import ApiKey
from storage.repositories.apikeys import NAME_RULE, check_name, scopes_of

router = APIRouter(prefix="/api/v1", dependencies=API_ADMIN, responses=API_ERRORS, tags=["apikeys"])

Scope = Literal["triggers", "read", "admin"]


def _name(value: str) -> str:
    try:
        return check_name(value)
    except ValueError:
        raise PydanticCustomError("key_name", "must be {rule}", {"rule": NAME_RULE}) from None


class ApiKeyIn(BaseModel):
    """A new key: who it is for and what it may do."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_name)]
    scopes: list[Scope] = Field(
        default=["admin"],
        min_length=1,
        max_length=3,
        description="triggers: POST /api/v1/triggers and cancelling; read: every GET; "
        "admin: everything",
    )


class ApiKeyOut(BaseModel):
    name: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = Field(description="updated at most once a minute")
    revoked_at: datetime | None


class ApiKeysOut(BaseModel):
    data: list[ApiKeyOut]
    count: int


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the key itself: shown this once, store it now")


class RevokedOut(BaseModel):
    name: str
    revoked: int = Field(description="how many active keys of this name were revoked")


def key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        name=row.name,
        prefix=row.prefix,
        scopes=list(scopes_of(row)),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.get("/apikeys", response_model=ApiKeysOut)
async def list_keys(uow: UowDep) -> ApiKeysOut:
    """Every key, revoked ones too, oldest first; never the keys themselves."""
    rows = await uow.api_keys.list_all()
    return ApiKeysOut(data=[key_out(row) for row in rows], count=len(rows))


@router.post("/apikeys", response_model=ApiKeyCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_key(body: ApiKeyIn, uow: UowDep, services: ServicesDep) -> ApiKeyCreatedOut:
    """Create a key; the answer carries it once."""
    row, plain = await uow.api_keys.create(body.name, body.scopes, now=services.clock())
    await uow.commit()
    return ApiKeyCreatedOut(**key_out(row).model_dump(), key=plain)


@router.delete("/apikeys/{name}", response_model=RevokedOut)
async def revoke_key(
    name: Annotated[str, Path(min_length=1, max_length=100)], uow: UowDep, services: ServicesDep
) -> RevokedOut:
    """Revoke every active key with this name; they answer 401 from now on."""
    revoked = await uow.api_keys.revoke(name, services.clock())
    if not revoked:
        raise NotFound(f"no active API key is named {name!r}", field="name")
    await uow.commit()
    return RevokedOut(name=name, revoked=revoked)
