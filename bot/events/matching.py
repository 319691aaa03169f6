"""Which events a subscription wants: its event types and its filters (survey, score, channel,
properties), checked against the rows the event is about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import Unprocessable
from bot.events.payloads import Subject

EVENT_TYPES = (
    "response.created",
    "response.updated",
    "response.completed",
    "contact.opted_out",
    "invitation.failed",
)
ALL = "*"
FILTER_NAMES = ("survey", "score_max", "score_min", "channel")
PROPERTY_PREFIX = "property."


def check_events(events: list[str]) -> list[str]:
    """The event types asked for (`*` for all); Unprocessable naming `events` otherwise."""
    if not events:
        raise Unprocessable("name at least one event type, or * for all", field="events")
    unknown = [e for e in events if e not in EVENT_TYPES and e != ALL]
    if unknown:
        raise Unprocessable(
            f"unknown event type {unknown[0]!r}: use {', '.join(EVENT_TYPES)} or *",
            field="events",
        )
    return sorted(set(events))


def check_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters, checked: a survey key, score bounds (whole numbers), a channel, and
    `property.NAME` values; Unprocessable naming the filter otherwise."""
    checked: dict[str, Any] = {}
    for name, value in filters.items():
        field = f"filters.{name}"
        if name in ("score_max", "score_min"):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise Unprocessable(f"{name} must be a whole number from 0 to 10", field=field)
        elif name in ("survey", "channel") or name.startswith(PROPERTY_PREFIX):
            if not isinstance(value, str) or not value or len(value) > 255:
                raise Unprocessable(f"{name} must be a text of 1-255 characters", field=field)
            if name.startswith(PROPERTY_PREFIX) and not name[len(PROPERTY_PREFIX) :]:
                raise Unprocessable("name the property: property.NAME", field=field)
        else:
            raise Unprocessable(
                f"unknown filter {name!r}: use {', '.join(FILTER_NAMES)} or property.NAME",
                field=field,
            )
        checked[name] = value
    return checked


def wants(events: list[str], filters: Mapping[str, Any], subject: Subject) -> bool:
    """Whether a subscription with these event types and filters receives this event.

    A filter on something the event does not have (a score, for an opt-out) does not match.
    """
    if ALL not in events and subject.event.type not in events:
        return False
    score = subject.response.score if subject.response is not None else None
    for name, value in filters.items():
        if name == "survey" and subject.survey_key != value:
            return False
        if name == "channel" and subject.channel != value:
            return False
        if name == "score_max" and (score is None or score > value):
            return False
        if name == "score_min" and (score is None or score < value):
            return False
        if name.startswith(PROPERTY_PREFIX):
            found = subject.properties.get(name[len(PROPERTY_PREFIX) :])
            if found is None or str(found) != str(value):
                return False
    return True
