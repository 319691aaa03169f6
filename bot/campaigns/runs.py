"""Executing a campaign run: stream the contacts in pages, decide each, insert invitations in bulk."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.schedule import first_check_on
from bot.invitations import decisions
from bot.invitations.suppression import Suppressions
from channels.base import ChannelInfo
from storage.models import Campaign, CampaignRun, Contact, InvitationStatus, Step
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys import campaigns as cadence
from surveys import placeholders
from surveys.audience import Audience
from surveys.campaigns import CampaignSpec, add_months, date_turn, due_for_person
from surveys.definitions import Survey
from surveys.eligibility import throttle_start
from surveys.spreading import Slots, plan

log = logging.getLogger("bot.campaigns")

PAGE_SIZE = 1000

Progress = Callable[[int, int], None]  # (audience members done, audience size)
Member = tuple[int, dict[str, Any], str | None]  # (contact id, properties, time zone)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def invitation_key(campaign_id: int, run_id: int, contact_id: int) -> str:
    """The run's key for one contact, scoped to the campaign (and, by having no space, apart
    from every trigger's key: see bot.invitations.triggers.scoped_key)."""
    return f"campaign:{campaign_id}:{run_id}:{contact_id}"


def date_invitation_key(campaign: Campaign, contact_id: int, value: date) -> str:
    """A date-relative campaign's key for one contact and one value of their date: whichever
    run meets it first takes it, so the same date never gets a second survey, a new one does.

    The campaign's creation time is part of it: SQLite may give a deleted campaign's id to the
    next one, whose history starts afresh (the deleted campaign's invitations keep their keys).
    """
    created = (campaign.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"campaign:{campaign.id}.{created}:date:{contact_id}:{value.isoformat()}"


@dataclass(slots=True)
class _Run:
    """What one execution of a run knows: the run, its campaign's spec and survey, its lease."""

    run: CampaignRun
    campaign: Campaign
    spec: CampaignSpec
    audience: Audience
    survey: Survey
    held_until: datetime
    # A date-relative run's previous run (or the campaign's creation): days that fell out of the
    # grace window since then are counted as missed.
    since: datetime

    @property
    def run_id(self) -> int:
        return self.run.id or 0

    @property
    def campaign_id(self) -> int:
        return self.campaign.id or 0


@dataclass(frozen=True, slots=True)
class AudienceCount:
    """A run's audience: who its filter matches, how many of them are due, when the rest are."""

    matched: int
    # The run's audience: every match for a cron campaign, those due for "every N months", and
    # for a date-relative campaign those whose day has come or was missed, or who have no date.
    due: int
    next_due: datetime | None  # the earliest time one of the matched but not due is due again


@dataclass(slots=True)
class _Selection:
    """What a run makes of one page of audience members (in their order)."""

    due: list[int] = field(default_factory=list)  # to decide: invite, or skip for a reason
    missed: list[int] = field(default_factory=list)  # a date's day passed beyond the grace
    undated: list[tuple[int, str]] = field(default_factory=list)  # (id, no_date | bad_date)
    keys: dict[int, str] = field(default_factory=dict)  # date-relative: each one's key
    next_due: datetime | None = None

    @property
    def audience(self) -> int:
        return len(self.due) + len(self.missed) + len(self.undated)


class RunLost(Exception):
    """Raised inside an execution when another executor took the run over (our lease ran out)."""


class RunExecutor:
    """Executes runs under a lease; a run resumed after a crash creates nothing twice."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        channels: Sequence[ChannelInfo],
        suppression: Suppressions,
        lease_seconds: float = 60,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.suppression = suppression
        # A campaign hands out no links: only channels that reach the person by themselves.
        self.channels = [info for info in channels if info.reaches_by_itself]
        self.link_only = {info.name for info in channels if not info.reaches_by_itself}
        self.lease = timedelta(seconds=lease_seconds)
        self.page_size = page_size

    async def execute_pending(self, now: datetime) -> list[CampaignRun]:
        """Execute every run waiting for an executor (new ones, and ones whose executor died)."""
        async with UnitOfWork(self.sessions) as uow:
            run_ids = await uow.campaign_runs.claimable(now)
        done = []
        for run_id in run_ids:
            try:
                finished = await self.execute(run_id)
            except Exception:
                log.exception(
                    "campaign run %s failed; it is retried once its lease expires", run_id
                )
                continue
            if finished is not None:
                done.append(finished)
        return done

    async def execute(self, run_id: int, progress: Progress | None = None) -> CampaignRun | None:
        """Claim and execute one run; None if it is not claimable (done, or held elsewhere)."""
        state = await self._claim(run_id)
        if state is None:
            return None
        log.info("campaign %s: run %s started", state.campaign.name, run_id)
        try:
            counted, inviting = await self._tally(state, renew=True)
            done = await self._invite(state, counted.due, inviting, progress)
            return await self._finish(state, done)
        except RunLost:
            log.warning("campaign run %s was taken over by another executor", run_id)
            return None

    async def count(self, run_id: int) -> AudienceCount | None:
        """Count a run's audience as the run sees it (its own invitations left out); None if
        there is no such run. Claims nothing: a finished run can be counted again."""
        async with UnitOfWork(self.sessions) as uow:
            run = await uow.campaign_runs.get(run_id)
            if run is None:
                return None
            campaign = await uow.campaigns.get(run.campaign_id)
            survey_row = await uow.surveys.get(campaign.survey_id) if campaign else None
            if campaign is None or survey_row is None:
                return None
            since = await self._since(uow, run, campaign)
        spec = CampaignSpec.model_validate(campaign.definition)
        state = _Run(
            run=run,
            campaign=campaign,
            spec=spec,
            audience=spec.audience_filter(),
            survey=to_domain(survey_row),
            held_until=self.clock(),  # not held: counting renews no lease
            since=since,
        )
        return (await self._tally(state, renew=False))[0]

    @staticmethod
    async def _since(uow: UnitOfWork, run: CampaignRun, campaign: Campaign) -> datetime:
        """The campaign's run before this one, else its creation (see `_Run.since`)."""
        previous = await uow.campaign_runs.previous_time(campaign.id or 0, run.scheduled_for)
        return previous if previous is not None else campaign.created_at

    async def _claim(self, run_id: int) -> _Run | None:
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            run = await uow.campaign_runs.claim(run_id, now, now + self.lease)
            if run is None:
                return None
            campaign = await uow.campaigns.get(run.campaign_id)
            assert campaign is not None
            survey_row = await uow.surveys.get(campaign.survey_id)
            assert survey_row is not None
            if survey_row.archived_at is not None:
                # Archived after the run was made: it ends having invited nobody.
                assert run.lease_until is not None
                await uow.campaign_runs.finish(run_id, run.lease_until, now)
                await uow.commit()
                log.info("campaign %s: run %s ended: survey archived", campaign.name, run_id)
                return None
            since = await self._since(uow, run, campaign)
            await uow.commit()
        spec = CampaignSpec.model_validate(campaign.definition)
        assert run.lease_until is not None
        return _Run(
            run=run,
            campaign=campaign,
            spec=spec,
            audience=spec.audience_filter(),
            survey=to_domain(survey_row),
            held_until=run.lease_until,
            since=since,
        )

    async def _renew(self, uow: UnitOfWork, state: _Run, **values: Any) -> None:
        """Extend the run's lease inside the page's transaction, or stop if it is not ours."""
        until = self.clock() + self.lease
        if not await uow.campaign_runs.renew(state.run_id, state.held_until, until, **values):
            raise RunLost
        state.held_until = until

    async def _select(self, uow: UnitOfWork, state: _Run, members: list[Member]) -> _Selection:
        """Who of these audience members the run is for, and when the first of the rest is due."""
        if state.spec.relative_to is not None:
            return await self._select_dated(uow, state, members)
        ids = [member[0] for member in members]
        every = state.spec.every_months
        if every is None or not ids:
            return _Selection(due=ids)
        last = await uow.campaign_runs.last_invited(state.campaign_id, ids, not_run=state.run_id)
        moment = state.run.scheduled_for
        due = [cid for cid in ids if due_for_person(last.get(cid), moment, every)]
        later = [add_months(last[cid], every) for cid in set(ids) - set(due)]
        return _Selection(due=due, next_due=min(later, default=None))

    async def _select_dated(
        self, uow: UnitOfWork, state: _Run, members: list[Member]
    ) -> _Selection:
        """For a date-relative campaign: whose day has come (or was missed) in their own zone,
        unless this date of theirs had its turn already; who has no usable date."""
        relative = state.spec.relative_to
        assert relative is not None
        selection = _Selection()
        turns: list[tuple[int, str]] = []  # (contact id, DUE or MISSED), keyed below
        later: list[datetime] = []
        for contact_id, properties, timezone in members:
            zone = _zone(timezone, state.spec.zone())
            turn = date_turn(
                relative,
                properties.get(relative.property),
                today=state.run.scheduled_for.astimezone(zone).date(),
                since=state.since.astimezone(zone).date(),
                first=state.campaign.created_at.astimezone(zone).date(),
            )
            if turn.outcome in (cadence.NO_DATE, cadence.BAD_DATE):
                selection.undated.append((contact_id, turn.outcome))
            elif turn.outcome in (cadence.DUE, cadence.MISSED):
                assert turn.value is not None
                selection.keys[contact_id] = date_invitation_key(
                    state.campaign, contact_id, turn.value
                )
                turns.append((contact_id, turn.outcome))
            elif turn.outcome == cadence.LATER:
                assert turn.target is not None
                later.append(first_check_on(state.spec, turn.target, zone))
        taken = await uow.campaign_runs.taken_keys(
            list(selection.keys.values()), not_run=state.run_id
        )
        for contact_id, outcome in turns:
            if selection.keys[contact_id] in taken:
                continue  # this date had its survey (or its skip) in an earlier run
            (selection.due if outcome == cadence.DUE else selection.missed).append(contact_id)
        selection.next_due = min(later, default=None)
        return selection

    async def _tally(self, state: _Run, *, renew: bool) -> tuple[AudienceCount, int]:
        """First pass: the audience size, stored on the run when `renew` (the executor holds the
        run), with the matches and the next due time; and how many are to be invited (the
        spread's slots are for them)."""
        matched = due = inviting = after = 0
        next_due: datetime | None = None
        while True:
            async with UnitOfWork(self.sessions) as uow:
                page = await uow.campaign_runs.audience_page(after, self.page_size)
                if not page:
                    if renew:
                        await self._renew(uow, state, audience=due)
                        await uow.commit()
                    return AudienceCount(matched=matched, due=due, next_due=next_due), inviting
                after = page[-1][0]
                members = [member for member in page if state.audience.matches(member[1])]
                selection = await self._select(uow, state, members)
                matched += len(members)
                due += selection.audience
                inviting += len(selection.due)
                later = selection.next_due
                if later is not None and (next_due is None or later < next_due):
                    next_due = later
                if renew:
                    await self._renew(uow, state)
                    await uow.commit()

    async def _invite(
        self, state: _Run, total: int, inviting: int, progress: Progress | None
    ) -> _Counts:
        """Second pass: one transaction per page of contacts, invitations inserted in bulk."""
        start = state.run.started_at or state.run.scheduled_for
        # At least one slot: contacts added between the passes take the last one.
        slots = plan(start, max(inviting, 1), state.spec.spread, state.spec.zone())
        counts = _Counts()
        after = 0
        while True:
            async with UnitOfWork(self.sessions) as uow:
                await self._renew(uow, state)
                contacts = await uow.campaign_runs.contacts_page(after, self.page_size)
                if not contacts:
                    await uow.commit()
                    return counts
                after = contacts[-1].id or 0
                matched = {c.id or 0: c for c in contacts if state.audience.matches(c.properties)}
                selection = await self._select(
                    uow, state, [(cid, c.properties, c.timezone) for cid, c in matched.items()]
                )
                for _contact_id, reason in selection.undated:
                    counts.audience += 1
                    counts.unrowed[reason] += 1
                rows = await self._rows(
                    uow, state, [matched[cid] for cid in selection.due], selection, slots, counts
                )
                rows += await self._missed_rows(
                    uow, state, [matched[cid] for cid in selection.missed], selection, counts
                )
                await uow.campaign_runs.insert_invitations(rows)
                await uow.commit()
            if progress is not None:
                progress(min(counts.audience, total), total)

    async def _opted_out(
        self, uow: UnitOfWork, state: _Run, members: Sequence[Contact]
    ) -> dict[int, set[str]]:
        """Per member, the channels the campaign may use that they opted out of."""
        ids = [c.id or 0 for c in members]
        channels = [i.name for i in self.channels if state.spec.channel in (None, i.name)]
        opted = await uow.campaign_runs.opted_out(ids, channels)
        # An erased contact's opt-out holds for whoever has the same address now.
        allowed = [i for i in self.channels if i.name in channels]
        opted |= await self.suppression.of_contacts(uow, members, allowed)
        opted_by: dict[int, set[str]] = {}
        for cid, channel in opted:
            opted_by.setdefault(cid, set()).add(channel)
        return opted_by

    def _key(self, state: _Run, selection: _Selection, contact_id: int) -> str:
        return selection.keys.get(contact_id) or invitation_key(
            state.campaign_id, state.run_id, contact_id
        )

    async def _rows(
        self,
        uow: UnitOfWork,
        state: _Run,
        members: Sequence[Contact],
        selection: _Selection,
        slots: Slots,
        counts: _Counts,
    ) -> list[dict[str, Any]]:
        if not members:
            return []
        ids = [c.id or 0 for c in members]
        now = self.clock()
        opted_by = await self._opted_out(uow, state, members)
        since = throttle_start(now, state.survey.throttle_days)
        surveyed = await uow.campaign_runs.surveyed_since(ids, since) if since else set()
        # The survey's fallback order without the web chat: nobody would hold its link.
        order = decisions.fallback_order(state.survey, requested=state.spec.channel)
        if order is not None:
            order = [name for name in order if name not in self.link_only] or None
        rows = []
        for contact in members:
            index = counts.slot
            counts.slot += 1
            counts.audience += 1
            contact_id = contact.id or 0
            mine = opted_by.get(contact_id, set())
            info = decisions.choose_channel(
                contact, self.channels, opted_out=mine, requested=state.spec.channel, order=order
            )
            if isinstance(info, decisions.Unreachable):
                counts.unrowed[info.reason] += 1
                continue
            key = self._key(state, selection, contact_id)
            decided = decisions.plan(
                state.survey,
                info,
                wanted_at=slots.at(min(index, slots.count - 1)),
                zone=decisions.zone_of(contact.timezone, state.survey.timezone),
                opted_out=info.name in mine,
                surveyed=contact_id in surveyed,
                sample_key=key,
            )
            if decided.eligible and placeholders.unfilled(
                state.survey,
                contact=contact.properties,
                trigger=_properties(state),
                name=contact.name,
            ):  # the survey's texts need a property this contact lacks: skipped, and counted
                decided = replace(
                    decided,
                    status=InvitationStatus.SKIPPED,
                    reason=placeholders.MISSING_PLACEHOLDER,
                )
            rows.append(_row(state, contact, info.name, decided, key, now, order))
        return rows

    async def _missed_rows(
        self,
        uow: UnitOfWork,
        state: _Run,
        members: Sequence[Contact],
        selection: _Selection,
        counts: _Counts,
    ) -> list[dict[str, Any]]:
        """A skipped invitation (reason `missed`) for each date whose day passed beyond the
        grace: the contact's history shows it, and its key keeps the date from a later run.
        One that no channel reaches is only counted (no run after this one meets the day)."""
        if not members:
            return []
        now = self.clock()
        opted_by = await self._opted_out(uow, state, members)
        rows = []
        for contact in members:
            counts.audience += 1
            contact_id = contact.id or 0
            info = decisions.choose_channel(
                contact,
                self.channels,
                opted_out=opted_by.get(contact_id, set()),
                requested=state.spec.channel,
            )
            if isinstance(info, decisions.Unreachable):
                counts.unrowed[cadence.MISSED] += 1
                continue
            skipped = decisions.Plan(
                status=InvitationStatus.SKIPPED,
                reason=cadence.MISSED,
                send_at=state.run.started_at or state.run.scheduled_for,
            )
            key = self._key(state, selection, contact_id)
            rows.append(_row(state, contact, info.name, skipped, key, now))
        return rows

    async def _finish(self, state: _Run, counts: _Counts) -> CampaignRun | None:
        """Mark the run done; the counts come from the rows, so a resumed run counts right."""
        async with UnitOfWork(self.sessions) as uow:
            by_status = await uow.campaign_runs.invitation_counts(state.run_id)
            skipped_rows = by_status.get(InvitationStatus.SKIPPED, 0)
            invited = sum(by_status.values()) - skipped_rows
            reasons = Counter(await uow.campaign_runs.skip_reason_counts(state.run_id))
            reasons.update(counts.unrowed)
            finished = await uow.campaign_runs.finish(
                state.run_id,
                state.held_until,
                self.clock(),
                audience=counts.audience,
                invited=invited,
                skipped=skipped_rows + counts.unrowed.total(),
                skip_reasons=dict(sorted(reasons.items())),
            )
            if not finished:
                raise RunLost
            await uow.commit()
            run = await uow.campaign_runs.get(state.run_id)
        assert run is not None
        log.info(
            "campaign %s: run %s done: audience %s, invited %s, skipped %s",
            state.campaign.name,
            run.id,
            run.audience,
            run.invited,
            run.skipped,
        )
        return run


def _zone(timezone: str | None, fallback: ZoneInfo) -> ZoneInfo:
    """The contact's own zone, else the campaign's: the zone in which their date's day falls."""
    if timezone:
        try:
            return ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def _properties(state: _Run) -> dict[str, Any]:
    """The properties a campaign's invitations carry (what their texts are filled from)."""
    return {"campaign": state.campaign.name}


def _row(
    state: _Run,
    contact: Contact,
    channel: str,
    decided: decisions.Plan,
    key: str,
    now: datetime,
    order: list[str] | None = None,
) -> dict[str, Any]:
    """One invitation of the run, as the bulk insert takes it."""
    return {
        "id": uuid.uuid4().hex,
        "survey_id": state.campaign.survey_id,
        "contact_id": contact.id or 0,
        "channel": channel,
        "channels": order,
        "status": decided.status,
        "skip_reason": decided.reason,
        "step": Step.AWAITING_SCORE,
        "reprompts": 0,
        "attempts": 0,
        "reminders_sent": 0,
        "locale": contact.locale,
        "send_at": decided.send_at,
        "properties": _properties(state),
        "idempotency_key": key,
        "campaign_id": state.campaign_id,
        "campaign_run_id": state.run_id,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(slots=True)
class _Counts:
    audience: int = 0  # members the second pass decided about so far
    slot: int = 0  # members it meant to invite so far (each one's slot index)
    # Skipped without a row, by reason: no channel reaches them (no_address, not_on), no
    # usable date (no_date, bad_date), or a missed day nobody could have been asked on.
    unrowed: Counter[str] = field(default_factory=Counter)
