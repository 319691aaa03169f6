"""Response bodies of the campaigns API (requests are `surveys.campaigns.CampaignSpec` as JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.campaigns.management import CampaignView
from storage.models import CampaignRun


class RunOut(BaseModel):
    """One run of a campaign: scheduled (a fire time) or manual (run now), and what it did."""

    id: int
    campaign: str
    kind: str
    status: str
    scheduled_for: datetime
    audience: int
    invited: int
    skipped: int
    skipped_by_reason: dict[str, int] = Field(
        description="the skipped by reason: throttled, opted_out, sampled_out, no_address, "
        "missing_placeholder; for a date-relative campaign also no_date, bad_date and missed "
        "(empty until the run is done)"
    )
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


class RunsOut(BaseModel):
    data: list[RunOut]
    count: int


class CampaignOut(BaseModel):
    """A campaign: its spec, status, next fire time and newest run."""

    name: str
    survey: str
    status: str
    audience: str
    cadence: str
    channel: str | None
    spec: dict[str, Any]
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_run: RunOut | None


class CampaignDetailOut(CampaignOut):
    recent_runs: list[RunOut]


class CampaignsOut(BaseModel):
    data: list[CampaignOut]
    count: int


def run_out(run: CampaignRun, campaign: str) -> RunOut:
    return RunOut(
        id=run.id or 0,
        campaign=campaign,
        kind=run.kind,
        status=run.status,
        scheduled_for=run.scheduled_for,
        audience=run.audience,
        invited=run.invited,
        skipped=run.skipped,
        skipped_by_reason=run.skip_reasons or {},
        started_at=run.started_at,
        finished_at=run.finished_at,
        created_at=run.created_at,
    )


def campaign_out(view: CampaignView) -> CampaignOut:
    campaign = view.campaign
    return CampaignOut(
        name=campaign.name,
        survey=view.survey,
        status=campaign.status,
        audience=view.spec.audience,
        cadence=view.spec.cadence_text(),
        channel=view.spec.channel,
        spec=campaign.definition,
        next_fire_at=view.next_fire_at,
        last_fire_at=campaign.last_fire_at,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        last_run=run_out(view.last_run, campaign.name) if view.last_run else None,
    )


def campaign_detail_out(view: CampaignView, runs: list[CampaignRun]) -> CampaignDetailOut:
    return CampaignDetailOut(
        **campaign_out(view).model_dump(),
        recent_runs=[run_out(run, view.campaign.name) for run in runs],
    )
