"""Dates as contact properties: which properties are dates, and reading an ISO 8601 date.

A contact's properties are a flat dict of strings, numbers and booleans; a date is stored as its
ISO 8601 text, ``YYYY-MM-DD``, so that audience filters order dates correctly as text. A property
whose name ends in ``_date`` (any case) is a date: imports and the contacts API refuse anything
else in it. Campaigns timed by a date property read it with `read_date`, whatever its name.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

DATE_SUFFIX = "_date"
EXAMPLE = "2027-05-31"
NOT_A_DATE = f"not an ISO 8601 date; use YYYY-MM-DD, e.g. {EXAMPLE}"
NO_SUCH_DAY = "not a day of the calendar (the month has fewer days, or there is no such month)"
_SHAPED = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def is_date_property(name: str) -> bool:
    """Whether values of the property `name` must be dates: its name ends in ``_date``."""
    return name.casefold().endswith(DATE_SUFFIX)


def parse_iso_date(text: str) -> date:
    """An ISO 8601 calendar date (``2027-05-31``; the basic ``20270531`` and week dates such as
    ``2027-W22-1`` are read too); ValueError, with a sentence saying what to write, otherwise."""
    stripped = text.strip()
    if not stripped.isascii():  # fromisoformat would take other scripts' digits
        raise ValueError(NOT_A_DATE)
    try:
        # A date and a time ("2027-05-31T10:00") is refused: which day it is depends on a zone.
        return date.fromisoformat(stripped)
    except ValueError:
        raise ValueError(NO_SUCH_DAY if _SHAPED.fullmatch(stripped) else NOT_A_DATE) from None


class NoDate(Exception):
    """The property is absent, null or blank."""


def read_date(value: Any) -> date:
    """A stored property value as a date: NoDate when it is missing, ValueError when it is
    anything but an ISO 8601 date (a number, a boolean, "31/05/2027")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise NoDate
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(NOT_A_DATE)
    return parse_iso_date(value)
