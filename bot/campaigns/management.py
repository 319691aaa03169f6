"""Relationship campaigns: add, update, pause and resume them; turn due fire times into runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.runs import PAGE_SIZE, AudienceCount, Progress, RunExecutor
from bot.campaigns.schedule import baseline, newest_fire_time, next_fire_time, trigger_for
from bot.errors import Conflict, NotFound, Unprocessable
from bot.invitations import lifecycle
from bot.invitations.suppression import Suppressions
from channels.base import ChannelInfo
from storage.models import Campaign, CampaignRun, CampaignStatus
from storage.uow import UnitOfWork
from surveys.audience import AudienceError
from surveys.campaigns import CampaignSpec

log = logging.getLogger("bot.campaigns")


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign as listed: its spec, survey key, next fire time and newest run."""

    campaign: Campaign
    survey: str
    spec: CampaignSpec
    next_fire_at: datetime | None
    last_run: CampaignRun | None


@dataclass(frozen=True, slots=True)
class Deleted:
    """What deleting a campaign removed (its runs) and kept (its invitations; some cancelled)."""

    name: str
    runs: int
    invitations: int
    cancelled: int


def spec_of(campaign: Campaign) -> CampaignSpec:
    return CampaignSpec.model_validate(campaign.definition)


class Campaigns:
    """Campaign management and runs on one database; every decision uses the injected clock."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        channels: Sequence[ChannelInfo],
        suppression: Suppressions,
        run_lease_seconds: float = 60,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.channels = tuple(channels)
        self.executor = RunExecutor(
            sessions=sessions,
            clock=clock,
            channels=self.channels,
            suppression=suppression,
            lease_seconds=run_lease_seconds,
            page_size=page_size,
        )

    # Management.

    def validate(self, spec: CampaignSpec) -> None:
        """Refuse a spec whose cron, audience or channel cannot work here (422, field named)."""
        try:
            trigger_for(spec)
        except ValueError as exc:
            raise Unprocessable(f"invalid cron line {spec.cron!r}: {exc}", field="cron") from exc
        try:
            spec.audience_filter()
        except AudienceError as exc:
            raise Unprocessable(f"invalid audience filter: {exc}", field="audience") from exc
        if spec.channel is not None:
            info = next((i for i in self.channels if i.name == spec.channel), None)
            if info is None:
                raise Unprocessable(
                    f"the {spec.channel} channel is not configured on this server",
                    field="channel",
                )
            if not info.reaches_by_itself:
                raise Unprocessable(
                    f"a campaign cannot use the {spec.channel} channel: it reaches nobody by"
                    " itself (a campaign hands out no links)",
                    field="channel",
                )

    async def create(self, spec: CampaignSpec) -> Campaign:
        """Add a campaign; 409 if the name is taken. Its first run is its next fire time."""
        self.validate(spec)
        now = self.clock()
        try:
            async with UnitOfWork(self.sessions) as uow:
                survey_id = await _survey_id(uow, spec)
                if await uow.campaigns.get_by_name(spec.name) is not None:
                    raise _exists(spec.name)
                campaign = await uow.campaigns.add(
                    Campaign(
                        name=spec.name,
                        survey_id=survey_id,
                        status=CampaignStatus.ACTIVE,
                        definition=spec.model_dump(mode="json"),
                        created_at=now,
                        updated_at=now,
                    )
                )
                await uow.commit()
        except IntegrityError as exc:  # another request added the same name meanwhile
            raise _exists(spec.name) from exc
        log.info("campaign %s added (%s)", spec.name, spec.cadence_text())
        return campaign

    async def update(self, name: str, spec: CampaignSpec) -> Campaign:
        """Replace a campaign's spec; fire times before now are not made up under the new one."""
        if spec.name != name:
            raise Unprocessable(
                f"the spec's name {spec.name!r} differs from the campaign {name!r}"
                " (a campaign cannot be renamed)",
                field="name",
            )
        self.validate(spec)
        async with UnitOfWork(self.sessions) as uow:
            survey_id = await _survey_id(uow, spec)
            campaign = await _campaign(uow, name, lock=True)
            campaign.survey_id = survey_id
            campaign.definition = spec.model_dump(mode="json")
            campaign.updated_at = self.clock()
            await uow.flush()
            await uow.commit()
        log.info("campaign %s updated (%s)", name, spec.cadence_text())
        return campaign

    async def pause(self, name: str) -> Campaign:
        return await self._set_status(name, CampaignStatus.PAUSED)

    async def resume(self, name: str) -> Campaign:
        """Resume a paused campaign: it fires at its next fire time (missed ones are not made up)."""
        return await self._set_status(name, CampaignStatus.ACTIVE)

    async def _set_status(self, name: str, status: str) -> Campaign:
        async with UnitOfWork(self.sessions) as uow:
            campaign = await _campaign(uow, name, lock=True)
            if campaign.status != status:
                campaign.status = status
                campaign.updated_at = self.clock()
                await uow.flush()
                await uow.commit()
                log.info("campaign %s %s", name, "paused" if status == "paused" else "resumed")
        return campaign

    async def delete(self, name: str) -> Deleted:
        """Delete a campaign and its runs; 409 while a run is in progress.

        The invitations it made stay (with their answers, in reports: `properties.campaign`
        keeps its name) but no longer point at it; those not sent yet are cancelled.
        """
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            campaign = await _campaign(uow, name, lock=True)
            campaign_id = campaign.id or 0
            live = await uow.campaign_runs.live(campaign_id, now)
            if live is not None:
                raise Conflict(
                    f"campaign {name!r} has a run in progress (run {live.id}); "
                    "delete it when the run is done",
                    field="name",
                )
            move = lifecycle.cancelled(now, reason="campaign deleted")
            cancelled = await uow.campaigns.transition_invitations(
                campaign_id, move.sources, **move.values
            )
            runs, kept = await uow.campaigns.delete(campaign_id)
            await uow.commit()
        log.info("campaign %s deleted: %s runs, %s invitations kept", name, runs, kept)
        return Deleted(name=name, runs=runs, invitations=kept, cancelled=cancelled)

    async def get(self, name: str) -> CampaignView:
        async with UnitOfWork(self.sessions) as uow:
            campaign = await _campaign(uow, name)
            row = await uow.surveys.get(campaign.survey_id)
            latest = await uow.campaign_runs.latest([campaign.id or 0])
        return self._view(campaign, row.key if row else "", latest.get(campaign.id or 0))

    async def list_campaigns(self) -> list[CampaignView]:
        async with UnitOfWork(self.sessions) as uow:
            rows = await uow.campaigns.with_survey_keys()
            latest = await uow.campaign_runs.latest([c.id or 0 for c, _ in rows])
        return [self._view(c, key, latest.get(c.id or 0)) for c, key in rows]

    def _view(self, campaign: Campaign, survey: str, last_run: CampaignRun | None) -> CampaignView:
        spec = spec_of(campaign)
        return CampaignView(
            campaign, survey, spec, next_fire_time(campaign, spec, self.clock()), last_run
        )

    async def runs(self, name: str, limit: int = 20) -> list[CampaignRun]:
        """The campaign's newest runs first."""
        async with UnitOfWork(self.sessions) as uow:
            campaign = await _campaign(uow, name)
            return list(await uow.campaign_runs.recent(campaign.id or 0, limit))

    # Runs.

    async def create_due_runs(self, now: datetime) -> list[int]:
        """One pending run per active campaign whose newest fire time since its last run has come.

        Missed fire times coalesce into one run for the newest; the run row is unique per
        (campaign, fire time), so a restarted or second scheduler makes no second run.
        """
        async with UnitOfWork(self.sessions) as uow:
            campaigns = await uow.campaigns.active()
        created = []
        for listed in campaigns:
            try:
                run_id = await self._create_due_run(listed.id or 0, now)
            except (ValidationError, ValueError):
                log.exception("campaign %s has an unusable definition; skipped", listed.name)
                continue
            if run_id is not None:
                created.append(run_id)
        return created

    async def _create_due_run(self, campaign_id: int, now: datetime) -> int | None:
        async with UnitOfWork(self.sessions) as uow:
            await uow.campaigns.lock(campaign_id)
            campaign = await uow.campaigns.get(campaign_id)
            if campaign is None or campaign.status != CampaignStatus.ACTIVE:
                return None
            fire = newest_fire_time(trigger_for(spec_of(campaign)), baseline(campaign), now)
            if fire is None:
                return None
            survey = await uow.surveys.get(campaign.survey_id)
            if survey is not None and survey.archived_at is not None:
                # Passed, not postponed: un-archiving does not make up the fire times missed.
                await uow.campaigns.advance_last_fire(campaign_id, fire)
                await uow.commit()
                log.info("campaign %s: survey archived, run for %s skipped", campaign.name, fire)
                return None
            run_id = await uow.campaign_runs.insert_if_absent(campaign_id, fire, "scheduled", now)
            await uow.campaigns.advance_last_fire(campaign_id, fire)
            await uow.commit()
        if run_id is not None:
            log.info("campaign %s: run %s due for %s", campaign.name, run_id, fire.isoformat())
        return run_id

    async def run_now(self, name: str) -> CampaignRun:
        """A manual run for now (pending; execute it, or the scheduler will); 409 while one runs."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            campaign = await _campaign(uow, name, lock=True)
            survey = await uow.surveys.get(campaign.survey_id)
            if survey is not None and survey.archived_at is not None:
                raise _archived(survey.key)
            live = await uow.campaign_runs.live(campaign.id or 0, now)
            if live is not None:
                raise Conflict(
                    f"campaign {name!r} has a run in progress (run {live.id}); "
                    "try again when it is done",
                    field="name",
                )
            run_id = None
            for offset in range(
                1000
            ):  # runs are unique per time: two in one instant get 1 µs apart
                at = now + timedelta(microseconds=offset)
                run_id = await uow.campaign_runs.insert_if_absent(
                    campaign.id or 0, at, "manual", now
                )
                if run_id is not None:
                    break
            assert run_id is not None
            await uow.commit()
            run = await uow.campaign_runs.get(run_id)
        assert run is not None
        return run

    async def execute_run(
        self, run_id: int, progress: Progress | None = None
    ) -> CampaignRun | None:
        """Claim and execute a run; None if it is done or another executor holds it."""
        return await self.executor.execute(run_id, progress)

    async def count_audience(self, run_id: int) -> AudienceCount | None:
        """Who a run's filter matches and how many were due (None: no such run)."""
        return await self.executor.count(run_id)

    async def execute_pending_runs(self, now: datetime) -> list[CampaignRun]:
        """Execute the runs waiting for an executor; returns those finished."""
        return await self.executor.execute_pending(now)

    async def run(self, run_id: int) -> CampaignRun:
        async with UnitOfWork(self.sessions) as uow:
            run = await uow.campaign_runs.get(run_id)
        if run is None:
            raise NotFound(f"run {run_id} does not exist", field="run")
        return run


def _exists(name: str) -> Conflict:
    return Conflict(f"a campaign named {name!r} already exists", field="name")


async def _campaign(uow: UnitOfWork, name: str, *, lock: bool = False) -> Campaign:
    campaign = await uow.campaigns.get_by_name(name, lock=lock)
    if campaign is None:
        raise NotFound(f"campaign {name!r} does not exist", field="name")
    return campaign


async def _survey_id(uow: UnitOfWork, spec: CampaignSpec) -> int:
    row = await uow.surveys.get_by_key(spec.survey)
    if row is None:
        raise NotFound(f"survey {spec.survey!r} does not exist", field="survey")
    if row.archived_at is not None:
        raise _archived(spec.survey)
    return row.id or 0


def _archived(key: str) -> Conflict:
    return Conflict(
        f"survey {key!r} is archived: a campaign cannot send it (un-archive the survey first)",
        field="survey",
    )
