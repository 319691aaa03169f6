"""Campaign specifications: which survey goes to whom, on what cadence, spread over what time."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, time
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from surveys.audience import Audience, parse_audience
from surveys.definitions import Key, iana_zone
from surveys.spreading import Spread

CampaignName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

_CRON_FIELD = re.compile(r"^[0-9*/,A-Za-z-]+$")
_CLOCK = re.compile(r"^\d{2}:\d{2}$")


class CampaignSpec(BaseModel):
    """A recurring survey campaign: on a fixed cron schedule, or every N months per person.

    The cron line is only checked for shape here; the bot checks it fully with its scheduler.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: CampaignName
    survey: Key
    audience: str = ""
    # A channel's name (the bot checks it names one that is on); None: each contact's best one.
    channel: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,15}$")
    cron: str | None = None
    every_months: int | None = Field(default=None, ge=1, le=24)
    at: str = "09:00"  # local time of the daily check that finds people due (every_months)
    timezone: str = "UTC"
    spread: Spread | None = None

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str) -> str:
        parse_audience(value)  # AudienceError is a ValueError: its message names the position
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
            raise ValueError(
                f"{value!r} is not a crontab line: use 5 fields (minute hour day month weekday),"
                ' e.g. "0 9 1 */3 *"'
            )
        return " ".join(fields)

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        try:
            if not _CLOCK.match(value):
                raise ValueError(value)
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f'{value!r} is not a time of day; use "HH:MM", e.g. "09:00"') from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_zone(value)

    @model_validator(mode="after")
    def _one_cadence(self) -> CampaignSpec:
        if (self.cron is None) == (self.every_months is None):
            raise ValueError(
                'give exactly one of cron (a fixed schedule, e.g. "0 9 1 */3 *") or every_months'
                " (per person, counted from their last survey of this campaign)"
            )
        return self

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def at_time(self) -> time:
        return time.fromisoformat(self.at)

    def audience_filter(self) -> Audience:
        return self._audience_filter

    @cached_property
    def _audience_filter(self) -> Audience:
        # Parsed once per spec: the filter then runs for every contact of every run.
        return parse_audience(self.audience)

    def cadence_text(self) -> str:
        """A short description for lists and logs: "cron 0 9 1 */3 *", "every 3 months per person"."""
        if self.cron is not None:
            return f"cron {self.cron}"
        if self.every_months == 1:
            return "every month per person"
        return f"every {self.every_months} months per person"


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` that many calendar months later (or earlier), the day clamped to the month's end."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def due_for_person(last_surveyed: datetime | None, now: datetime, every_months: int) -> bool:
    """Whether someone is due again: never surveyed, or `every_months` since their last survey."""
    if every_months < 1:
        raise ValueError("every_months must be 1 or more")
    return last_surveyed is None or add_months(last_surveyed, every_months) <= now
