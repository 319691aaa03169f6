"""/api/v1/digests: a survey's numbers mailed every day or week, and one sent on request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from bot.digests import management
from bot.digests.job import send_now
from bot.errors import Conflict, UpstreamFailed
from bot.http.deps import UowDep
from bot.http.errors import refuse_unstorable
from bot.http.schemas import API_ADMIN, API_ERRORS, ApiError
from bot.runtime.services import ServicesDep
from bot.startup.alerting import mail_on, mailer_of, sender_name

router = APIRouter(prefix="/api/v1", dependencies=API_ADMIN, responses=API_ERRORS, tags=["digests"])
DigestId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class DigestIn(BaseModel):
    survey: str = Field(max_length=64, description="the survey's key")
    every: str = Field(
        max_length=16,
        description="daily: the previous day; weekly: the previous ISO week (Monday to Sunday)",
    )
    to: list[str] = Field(max_length=20, description="the addresses mailed (1-20)")
    at: str = Field(default="08:00", max_length=5, description="local time of day, HH:MM")
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA time zone; default: the survey's"
    )


class DigestOut(BaseModel):
    id: int
    survey: str
    every: str
    to: list[str]
    at: str
    timezone: str
    next_send_at: str = Field(description="when the next period's digest is due (local time)")
    created_at: datetime


class DigestsOut(BaseModel):
    data: list[DigestOut]
    count: int


class DigestRemovedOut(BaseModel):
    id: int


class PeriodOut(BaseModel):
    start: str = Field(description="the period's first local day")
    from_: str = Field(alias="from")
    to: str


class DigestSentOut(BaseModel):
    id: int
    period: PeriodOut
    delivered: int = Field(description="addresses the SMTP server took it for")
    failed: int


@router.post(
    "/digests",
    response_model=DigestOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"model": ApiError, "description": "A field is wrong (named in `field`)"}},
)
async def add_digest(body: DigestIn, uow: UowDep, services: ServicesDep) -> dict[str, Any]:
    """Mail a survey's digest every day or week at a local time."""
    refuse_unstorable(body.model_dump(mode="json"))
    request = management.NewDigest(
        survey=body.survey, every=body.every, to=body.to, at=body.at, timezone=body.timezone
    )
    now = services.clock()
    digest = await management.add(uow, request, now, mail_on=mail_on(services.settings))
    await uow.commit()
    _, row = await management.get(uow, digest.id or 0)
    return management.digest_dict(digest, row, now)


@router.get("/digests", response_model=DigestsOut)
async def list_digests(uow: UowDep, services: ServicesDep) -> DigestsOut:
    digests = await management.listed(uow, services.clock())
    return DigestsOut(data=[DigestOut(**d) for d in digests], count=len(digests))


@router.delete("/digests/{digest_id}", response_model=DigestRemovedOut)
async def remove_digest(
    digest_id: DigestId, uow: UowDep, services: ServicesDep
) -> DigestRemovedOut:
    await management.remove(uow, digest_id, services.clock())
    await uow.commit()
    return DigestRemovedOut(id=digest_id)


@router.post(
    "/digests/{digest_id}/send",
    response_model=DigestSentOut,
    responses={
        409: {"model": ApiError, "description": "Email is not configured"},
        502: {"model": ApiError, "description": "The SMTP server took it for nobody"},
    },
)
async def send_digest(digest_id: DigestId, services: ServicesDep) -> dict[str, Any]:
    """Mail the digest of its latest complete period now (the schedule is left as it is)."""
    mailer = mailer_of(services.settings)
    if mailer is None:
        raise Conflict("email is not configured (SURVEYBOT_SMTP_HOST)", field="digest_id")
    sent = await send_now(
        services.sessions,
        mailer,
        digest_id,
        services.clock(),
        base_url=services.settings.base_url(),
        sender_name=sender_name(services.settings),
    )
    if not sent.delivered:
        raise UpstreamFailed("the SMTP server did not take the digest for any address")
    period = sent.period
    return {
        "id": digest_id,
        "period": {
            "start": period.key,
            "from": period.since.isoformat(),
            "to": period.until.isoformat(),
        },
        "delivered": sent.delivered,
        "failed": sent.failed,
    }
