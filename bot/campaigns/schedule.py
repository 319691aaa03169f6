"""When a campaign fires: APScheduler cron triggers, and the newest fire time since the last run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from storage.models import Campaign, CampaignStatus
from surveys.campaigns import CampaignSpec

MAX_STEPS = 10_000
_TICK = timedelta(microseconds=1)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(text: str) -> int:
    if text in _DAYS:
        return _DAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    raise ValueError(f"{text!r} is not a day of the week (0-7 or sun-sat)")


def cron_weekdays(field: str) -> str:
    """A crontab day-of-week field as weekday names.

    Crontab counts 0 (and 7) as Sunday; APScheduler 3.x's `from_crontab` counts 0 as Monday.
    Names mean the same to both, so numbers are turned into names first.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        part, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"{item!r}: the step after / must be a positive number")
        step = int(step_text) if slash else 1
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            first, _, last = part.partition("-")
            low, high = _day(first), _day(last)
            if last == "7":
                high = 7
        else:
            low = _day(part)
            high = 6 if slash else low
        if low > high:
            raise ValueError(f"{item!r}: a range must go from the earlier day to the later")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_DAYS[day] for day in sorted(days))


def crontab_trigger(expr: str, zone: object) -> CronTrigger:
    """A trigger for a five-field crontab line in a time zone; ValueError if it is not one."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron line has 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    fields[4] = cron_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=zone)


def trigger_for(spec: CampaignSpec) -> CronTrigger:
    """The campaign's cron line, or for "every N months per person" and for a date-relative
    campaign a daily look at `at`."""
    if spec.cron is not None:
        return crontab_trigger(spec.cron, spec.zone())
    at = spec.at_time()
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=spec.zone())


def baseline(campaign: Campaign) -> datetime:
    """Fire times at or before this moment never make a run.

    The newest fire time a run was made for; and no fire time from before the campaign was
    created, last changed or resumed (`updated_at`): no retroactive runs.
    """
    if campaign.last_fire_at is None:
        return campaign.updated_at
    return max(campaign.last_fire_at, campaign.updated_at)


def _next(trigger: CronTrigger, start: datetime) -> datetime | None:
    """The first fire time at or after `start`, in UTC."""
    fire: datetime | None = trigger.get_next_fire_time(None, start)
    return None if fire is None else fire.astimezone(UTC)


def newest_fire_time(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The newest fire time F with after < F <= now (None if there is none).

    Looks back from `now` in growing windows, so a per-minute cron after a year of downtime
    costs a few dozen steps, not half a million.
    """
    if now <= after:
        return None
    start = after + _TICK
    window = timedelta(minutes=1)
    while True:
        probe = max(start, now - window)
        first = _next(trigger, probe)
        if first is not None and first <= now:
            break
        if probe == start:
            return None
        window *= 8
    newest = first
    for _ in range(MAX_STEPS):
        following = _next(trigger, newest + _TICK)
        if following is None or following > now:
            break
        newest = following
    return newest


def next_fire_time(campaign: Campaign, spec: CampaignSpec, now: datetime) -> datetime | None:
    """When the campaign fires next (None while paused)."""
    if campaign.status != CampaignStatus.ACTIVE:
        return None
    return _next(trigger_for(spec), max(now, baseline(campaign) + _TICK))


def first_check_on(spec: CampaignSpec, day: date, zone: ZoneInfo) -> datetime:
    """The first of a campaign's daily checks (at `at` in its zone) that falls on `day` or
    later in `zone`, in UTC: when a contact of that zone whose date makes `day` due is invited.

    The zones of the campaign and the contact are less than two days apart, so one of the
    checks from two days before `day` to two days after it is the one.
    """
    at, own = spec.at_time(), spec.zone()
    for shift in range(-2, 3):
        check = datetime.combine(day + timedelta(days=shift), at, tzinfo=own)
        if check.astimezone(zone).date() >= day:
            return check.astimezone(UTC)
    return datetime.combine(day, at, tzinfo=own).astimezone(UTC)  # not reached
