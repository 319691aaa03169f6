"""What every route module shares: the refusal body, the API's common refusals, channel names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import AfterValidator, BaseModel, WithJsonSchema
from pydantic_core import PydanticCustomError

from bot.http.deps import require_api_key, require_scope, require_scopes
from bot.wiring import registry


class ApiError(BaseModel):
    """A refusal: what is wrong, and the field to blame when there is one."""

    detail: str
    field: str | None = None


# The refusals every /api/v1 route may answer, for the OpenAPI schema.
API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "Missing or invalid API key"},
    403: {"model": ApiError, "description": "The API key lacks the scope (field `scope`)"},
    404: {"model": ApiError, "description": "Unknown survey, contact, invitation or campaign"},
    429: {
        "model": ApiError,
        "description": "Too many wrong API keys from this address",
        "headers": {
            "Retry-After": {
                "description": "Seconds until this address may try again",
                "schema": {"type": "integer"},
            }
        },
    },
}
# Every /api/v1 router takes one of these, checked before anything else. API_KEY: any valid key.
API_KEY = [Depends(require_api_key)]
# GET needs the read scope, other methods admin (an admin key may do everything).
API_SCOPES = [Depends(require_scopes(read="read", write="admin"))]
# GET needs read, other methods the triggers scope: triggering and cancelling invitations.
API_TRIGGER_SCOPES = [Depends(require_scopes(read="read", write="triggers"))]
# Every method needs admin: managing API keys, minting Telegram links.
API_ADMIN = [Depends(require_scope("admin"))]


def _known_channel(value: str) -> str:
    if value not in registry.names():
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": registry.expected()}
        )
    return value


# A channel surveybot has (on or not: a channel that is off is refused by the service, naming it).
ChannelName = Annotated[
    str,
    AfterValidator(_known_channel),
    WithJsonSchema({"type": "string", "enum": list(registry.names())}),
]
