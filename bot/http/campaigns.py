"""The campaigns API under /api/v1/campaigns: add, replace, list, pause, resume, run now, delete."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from bot.campaigns.management import Campaigns
from bot.campaigns.schemas import (
    CampaignDetailOut,
    CampaignOut,
    CampaignsOut,
    RunOut,
    RunsOut,
    campaign_detail_out,
    campaign_out,
    run_out,
)
from bot.http.errors import refuse_unstorable
from bot.http.schemas import API_ERRORS, API_SCOPES, ApiError
from bot.runtime.services import ServicesDep
from surveys.campaigns import CampaignSpec

log = logging.getLogger("bot.campaigns")


def get_campaigns(services: ServicesDep) -> Campaigns:
    return Campaigns(
        sessions=services.sessions,
        clock=services.clock,
        channels=services.catalog,
        suppression=services.suppression,
    )


CampaignsDep = Annotated[Campaigns, Depends(get_campaigns)]


router = APIRouter(
    prefix="/api/v1", dependencies=API_SCOPES, responses=API_ERRORS, tags=["campaigns"]
)


@router.post(
    "/campaigns",
    response_model=CampaignOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ApiError, "description": "The name is taken, or the survey is archived"}
    },
)
async def add_campaign(spec: CampaignSpec, campaigns: CampaignsDep) -> CampaignOut:
    """Add a campaign: a survey, an audience filter, a cadence and an optional spread."""
    refuse_unstorable(spec.model_dump(mode="json"))
    created = await campaigns.create(spec)
    return campaign_out(await campaigns.get(created.name))


@router.put(
    "/campaigns/{name}",
    response_model=CampaignOut,
    responses={409: {"model": ApiError, "description": "The survey is archived"}},
)
async def replace_campaign(name: str, spec: CampaignSpec, campaigns: CampaignsDep) -> CampaignOut:
    """Replace a campaign's spec (its name stays; fire times already past are not made up)."""
    refuse_unstorable(spec.model_dump(mode="json"))
    await campaigns.update(name, spec)
    return campaign_out(await campaigns.get(name))


@router.get("/campaigns", response_model=CampaignsOut)
async def list_campaigns(campaigns: CampaignsDep) -> CampaignsOut:
    views = await campaigns.list_campaigns()
    return CampaignsOut(data=[campaign_out(v) for v in views], count=len(views))


@router.get("/campaigns/{name}", response_model=CampaignDetailOut)
async def get_campaign(name: str, campaigns: CampaignsDep) -> CampaignDetailOut:
    """One campaign with its next fire time and its recent runs."""
    view = await campaigns.get(name)
    return campaign_detail_out(view, await campaigns.runs(name, limit=10))


class CampaignDeletedOut(BaseModel):
    name: str
    runs_deleted: int
    invitations_kept: int = Field(
        description="invitations it made: they stay, with their answers, without a campaign id"
    )
    invitations_cancelled: int = Field(description="of those, the ones not sent yet")


@router.delete(
    "/campaigns/{name}",
    response_model=CampaignDeletedOut,
    responses={409: {"model": ApiError, "description": "A run is in progress"}},
)
async def delete_campaign(name: str, campaigns: CampaignsDep) -> CampaignDeletedOut:
    """Delete a campaign and its runs; its invitations and answers stay (unsent ones cancelled)."""
    deleted = await campaigns.delete(name)
    return CampaignDeletedOut(
        name=deleted.name,
        runs_deleted=deleted.runs,
        invitations_kept=deleted.invitations,
        invitations_cancelled=deleted.cancelled,
    )


@router.post("/campaigns/{name}/pause", response_model=CampaignOut)
async def pause_campaign(name: str, campaigns: CampaignsDep) -> CampaignOut:
    await campaigns.pause(name)
    return campaign_out(await campaigns.get(name))


@router.post("/campaigns/{name}/resume", response_model=CampaignOut)
async def resume_campaign(name: str, campaigns: CampaignsDep) -> CampaignOut:
    """Resume: the campaign fires at its next fire time; ones missed while paused are not."""
    await campaigns.resume(name)
    return campaign_out(await campaigns.get(name))


@router.post(
    "/campaigns/{name}/runs",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ApiError, "description": "A run is in progress"}},
)
async def run_now(name: str, campaigns: CampaignsDep, services: ServicesDep) -> RunOut:
    """Run the campaign now; the run executes in the background (poll GET …/runs)."""
    run = await campaigns.run_now(name)
    services.spawn(_execute(campaigns, run.id or 0), "campaign-run")
    return run_out(run, name)


@router.get("/campaigns/{name}/runs", response_model=RunsOut)
async def list_runs(
    name: str,
    campaigns: CampaignsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RunsOut:
    """The campaign's runs, newest first."""
    runs = await campaigns.runs(name, limit=limit)
    return RunsOut(data=[run_out(r, name) for r in runs], count=len(runs))


async def _execute(campaigns: Campaigns, run_id: int) -> None:
    """Execute a run-now run; if this process stops, the scheduler resumes it after its lease."""
    try:
        await campaigns.execute_run(run_id)
    except Exception:
        log.exception("campaign run %s failed; the scheduler resumes it", run_id)
