"""Campaign specifications: which survey goes to whom, on what cadence, spread over what time."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from surveys.audience import Audience, parse_audience
from surveys.contact_dates import NoDate, read_date
from surveys.definitions import Key, iana_zone
from surveys.spreading import Spread

CampaignName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

_CRON_FIELD = re.compile(r"^[0-9*/,A-Za-z-]+$")
_CLOCK = re.compile(r"^\d{2}:\d{2}$")
_OFFSET = re.compile(r"^(\d{1,4})(d|w|mo)$")
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# The longest offset of each unit: about ten years.
_MAX_OFFSET = {"d": 3660, "w": 522, "mo": 120}
_UNIT_WORDS = {"d": "day", "w": "week", "mo": "month"}
DEFAULT_GRACE_DAYS = 3
MAX_GRACE_DAYS = 60

D = TypeVar("D", bound=date)


class RelativeTo(BaseModel):
    """A cadence timed by a date property of each contact: `before` or `after` it by an offset.

    Offsets are whole days (``30d``), weeks (``2w``) or calendar months (``6mo``; a day the
    month lacks is clamped to its end). `grace_days`: after the scheduler was down (or the
    campaign paused), a run still invites the contacts whose day passed at most this many days
    ago; older ones are counted as missed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    property: str
    before: str | None = None
    after: str | None = None
    grace_days: int = Field(default=DEFAULT_GRACE_DAYS, ge=0, le=MAX_GRACE_DAYS)

    @field_validator("property")
    @classmethod
    def _property(cls, value: str) -> str:
        if not _PROPERTY.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a property name: a letter or _, then letters, digits, _ . or -"
                " (64 at most), as in audience filters"
            )
        return value

    @field_validator("before", "after")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().lower().replace(" ", "")
        match = _OFFSET.match(text)
        if match is None:
            raise ValueError(
                f"{value!r} is not an offset: use a whole number of days, weeks or months,"
                ' e.g. "30d", "2w" or "6mo"'
            )
        amount, unit = int(match[1]), match[2]
        if amount > _MAX_OFFSET[unit]:
            raise ValueError(
                f"{value!r} is too far: at most {_MAX_OFFSET[unit]}{unit} (about ten years)"
            )
        return f"{amount}{unit}"

    @model_validator(mode="after")
    def _one_side(self) -> RelativeTo:
        if (self.before is None) == (self.after is None):
            raise ValueError(
                'give exactly one of before (e.g. "6mo": six months before the date) or after'
                ' (e.g. "30d": thirty days after it)'
            )
        return self

    def _parts(self) -> tuple[int, str, int]:
        """(amount, unit, sign): the offset, and -1 before the date or +1 after it."""
        text = self.before if self.before is not None else self.after
        match = _OFFSET.match(text or "")
        assert match is not None
        return int(match[1]), match[2], -1 if self.before is not None else 1

    def target(self, day: date) -> date:
        """The day a contact whose property holds `day` is due. ValueError past year 9999."""
        amount, unit, sign = self._parts()
        if unit == "mo":
            return add_months(day, sign * amount)
        try:
            return day + timedelta(days=sign * amount * (7 if unit == "w" else 1))
        except OverflowError:
            raise ValueError("the day is outside the calendar (years 1 to 9999)") from None

    def text(self) -> str:
        """ "6 months before renewal_date", "30 days after signup_date", "on renewal_date"."""
        amount, unit, sign = self._parts()
        if amount == 0:
            return f"on {self.property}"
        word = _UNIT_WORDS[unit] + ("" if amount == 1 else "s")
        return f"{amount} {word} {'before' if sign < 0 else 'after'} {self.property}"


class CampaignSpec(BaseModel):
    """A recurring survey campaign: on a fixed cron schedule, every N months per person, or
    before or after a date property of each contact (`relative_to`).

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
    relative_to: RelativeTo | None = None
    # Local time of the daily check that finds people due (every_months, relative_to).
    at: str = "09:00"
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
        given = [self.cron, self.every_months, self.relative_to]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                'give exactly one of cron (a fixed schedule, e.g. "0 9 1 */3 *"), every_months'
                " (per person, counted from their last survey of this campaign) or relative_to"
                ' (before or after a date of each contact, e.g. {"property": "renewal_date",'
                ' "before": "6mo"})'
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
        if self.relative_to is not None:
            return self.relative_to.text()
        if self.every_months == 1:
            return "every month per person"
        return f"every {self.every_months} months per person"


def add_months(moment: D, months: int) -> D:
    """`moment` (a date or a datetime) that many calendar months later (or earlier), the day
    clamped to the month's end: 31 January + 1 month is 28 (or 29) February."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    if not 1 <= year <= 9999:
        raise ValueError("the day is outside the calendar (years 1 to 9999)")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def due_for_person(last_surveyed: datetime | None, now: datetime, every_months: int) -> bool:
    """Whether someone is due again: never surveyed, or `every_months` since their last survey."""
    if every_months < 1:
        raise ValueError("every_months must be 1 or more")
    return last_surveyed is None or add_months(last_surveyed, every_months) <= now


# What a date-relative run makes of one contact's date.
DUE = "due"  # the day has come (today in their zone, or missed by at most grace_days): invite
MISSED = "missed"  # the day passed more than grace_days ago since the last run: skipped, counted
LATER = "later"  # the day is still to come
PAST = "past"  # the day passed before the last run, or before the campaign existed: not counted
NO_DATE = "no_date"  # the property is missing or blank: skipped, counted
BAD_DATE = "bad_date"  # the property is not an ISO 8601 date: skipped, counted


@dataclass(frozen=True, slots=True)
class DateTurn:
    """A contact's date as one run sees it: the outcome, the date and the day it makes due."""

    outcome: str
    value: date | None = None
    target: date | None = None


def date_turn(
    relative: RelativeTo, value: Any, *, today: date, since: date, first: date
) -> DateTurn:
    """Whether the date `value` makes a contact due in a run, all days in the contact's zone.

    `today` is the run's day, `since` the day of the campaign's previous run (of its creation
    when it has none) and `first` the day it was created: no day before `first` is ever due
    or missed. A day from `today - grace_days` to `today` is due; one that fell out of that
    window since the previous run is missed; an earlier one is past, and a later one is later.
    Whether the contact already had this date's survey is the caller's to know.
    """
    try:
        day = read_date(value)
    except NoDate:
        return DateTurn(NO_DATE)
    except ValueError:
        return DateTurn(BAD_DATE)
    try:
        target = relative.target(day)
    except ValueError:
        return DateTurn(BAD_DATE, day)
    grace = timedelta(days=relative.grace_days)
    if target > today:
        return DateTurn(LATER, day, target)
    if target >= max(today - grace, first):
        return DateTurn(DUE, day, target)
    if target >= max(since - grace, first):
        return DateTurn(MISSED, day, target)
    return DateTurn(PAST, day, target)
