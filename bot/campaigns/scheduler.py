"""The campaign scheduler: one process per database holds the lease and ticks APScheduler 3.x."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.management import Campaigns, spec_of
from bot.campaigns.runs import PAGE_SIZE, Progress
from bot.campaigns.schedule import trigger_for
from bot.invitations.suppression import Suppressions
from channels.base import ChannelInfo
from storage.models import CampaignRun
from storage.uow import UnitOfWork

log = logging.getLogger("bot.scheduler")

LEASE_NAME = "scheduler"
MAX_BACKOFF_SECONDS = 60.0


def default_holder() -> str:
    """A name for this process that no other process shares: host, pid and a random part."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class CampaignScheduler:
    """Leader-elected campaign scheduling.

    Every `poll_seconds` it takes or renews the database lease named "scheduler". While it
    holds it, an APScheduler AsyncIOScheduler (memory job store) has one job per active
    campaign, each turning its fire time into a run row; every poll also re-reads the
    campaigns, creates due runs and executes pending ones (which resumes runs whose executor
    died). APScheduler only decides *when* to look: what is due is decided from the database
    and the injected clock, so missed ticks coalesce and restarts neither repeat nor drop runs.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        channels: Sequence[ChannelInfo],
        suppression: Suppressions,
        holder: str,
        lease_seconds: float = 30,
        poll_seconds: float = 5,
        run_lease_seconds: float = 60,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not 0 < poll_seconds < lease_seconds:
            raise ValueError("poll_seconds must be positive and shorter than lease_seconds")
        self.sessions = sessions
        self.clock = clock
        self.holder = holder
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.campaigns = Campaigns(
            sessions=sessions,
            clock=clock,
            channels=channels,
            suppression=suppression,
            run_lease_seconds=run_lease_seconds,
            page_size=page_size,
        )
        self.is_leader = False
        self._held_until: datetime | None = None
        self._aps: AsyncIOScheduler | None = None
        # APScheduler job id -> the campaign version (updated_at) the job was made from.
        self._jobs: dict[str, str] = {}
        self._executing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Poll until cancelled; on the way out, stop APScheduler and give the lease up."""
        delay = self.poll_seconds
        try:
            while True:
                try:
                    await self.tick(wait=False)
                    delay = self.poll_seconds
                except Exception:
                    delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                    log.exception("scheduler tick failed; retrying in %.0f s", delay)
                    if self._held_until is not None and self.clock() >= self._held_until:
                        # Unrenewed, the lease may be someone else's by now: stand down.
                        self.is_leader = False
                        self._stop_apscheduler()
                await asyncio.sleep(delay)
        finally:
            await self.stop()

    async def acquire(self) -> bool:
        """Take or renew the scheduler lease; whether this process is the leader now."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            leader = await uow.leases.acquire(LEASE_NAME, self.holder, now + self.lease, now)
            await uow.commit()
        self._held_until = now + self.lease if leader else None
        if leader != self.is_leader:
            log.info("%s the scheduler lease (%s)", "took" if leader else "lost", self.holder)
        self.is_leader = leader
        return leader

    async def tick(self, *, wait: bool = True) -> list[int]:
        """One poll: the lease; as leader, jobs in step with the database, due runs, execution.

        Returns the ids of the runs created. With `wait` the pending runs are executed before
        returning (tests); the polling loop executes them in the background instead, so a long
        run never keeps the lease from being renewed.
        """
        if not await self.acquire():
            self._stop_apscheduler()
            return []
        await self.sync_jobs()
        created = await self.campaigns.create_due_runs(self.clock())
        await self._execute(wait=wait)
        return created

    async def sync_jobs(self) -> None:
        """One APScheduler job per active campaign, following adds, edits, pauses and resumes."""
        aps = self._start_apscheduler()
        async with UnitOfWork(self.sessions) as uow:
            active = await uow.campaigns.active()
        wanted = {f"campaign:{c.id}": c for c in active}
        for job_id in [j for j in self._jobs if j not in wanted]:
            aps.remove_job(job_id)
            del self._jobs[job_id]
        for job_id, campaign in wanted.items():
            version = campaign.updated_at.isoformat()
            if self._jobs.get(job_id) == version:
                continue
            try:
                trigger = trigger_for(spec_of(campaign))
            except ValueError:
                log.exception("campaign %s has an unusable schedule; no job", campaign.name)
                continue
            aps.add_job(self._fire, trigger, id=job_id, name=campaign.name, replace_existing=True)
            self._jobs[job_id] = version

    async def create_due_runs(self, now: datetime) -> list[int]:
        """See `Campaigns.create_due_runs` (works whether or not this process leads)."""
        return await self.campaigns.create_due_runs(now)

    async def execute_pending_runs(self, now: datetime) -> list[CampaignRun]:
        return await self.campaigns.execute_pending_runs(now)

    async def execute_run(
        self, run_id: int, progress: Progress | None = None
    ) -> CampaignRun | None:
        return await self.campaigns.execute_run(run_id, progress)

    def job_ids(self) -> list[str]:
        """The APScheduler jobs this process runs (none unless it is the leader)."""
        return sorted(self._jobs)

    async def stop(self) -> None:
        """Stop APScheduler and any execution in progress, and release the lease if held."""
        self._stop_apscheduler()
        if self._executing is not None:
            self._executing.cancel()
            await asyncio.gather(self._executing, return_exceptions=True)
            self._executing = None
        if self.is_leader:
            self.is_leader = False
            try:
                async with UnitOfWork(self.sessions) as uow:
                    await uow.leases.release(LEASE_NAME, self.holder)
                    await uow.commit()
            except Exception:
                log.warning("could not release the scheduler lease; it expires by itself")
            else:
                log.info("released the scheduler lease (%s)", self.holder)
        await asyncio.sleep(0)  # let APScheduler's own shutdown callback run

    async def _fire(self) -> None:
        """An APScheduler job: a campaign's fire time came."""
        if not self.is_leader:
            return
        await self.campaigns.create_due_runs(self.clock())
        await self._execute(wait=False)

    async def _execute(self, *, wait: bool) -> None:
        running = self._executing
        if running is not None and not running.done():
            if not wait:
                return  # the executor picks up new runs on its next pass
            await asyncio.gather(running, return_exceptions=True)
        if wait:
            await self.campaigns.execute_pending_runs(self.clock())
            return
        self._executing = asyncio.create_task(self._execute_pending(), name="campaign-runs")

    async def _execute_pending(self) -> None:
        try:
            await self.campaigns.execute_pending_runs(self.clock())
        except Exception:
            log.exception("executing campaign runs failed; retried on the next poll")

    def _start_apscheduler(self) -> AsyncIOScheduler:
        if self._aps is None:
            self._aps = AsyncIOScheduler(
                jobstores={"default": MemoryJobStore()},
                timezone=UTC,
                job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
            )
            self._aps.start()
            self._jobs = {}
        return self._aps

    def _stop_apscheduler(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
            self._jobs = {}
