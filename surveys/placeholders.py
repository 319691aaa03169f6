"""Filling a survey's {placeholders}: from what, with which defaults, and what is left unfilled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from surveys.definitions import Survey
from surveys.texts import pick

# The skip reason of a campaign invitation whose contact cannot fill the survey's texts.
MISSING_PLACEHOLDER = "missing_placeholder"


def values(
    survey: Survey,
    *,
    contact: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
    name: str | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """What a conversation's texts are filled from, first found first.

    The trigger's properties over the contact's (a null property fills nothing), the contact's
    name as `name`, the scale's ends as `low` and `high`, then the survey's `placeholders`
    defaults in the reader's locale.
    """
    merged = {**(contact or {}), **(trigger or {})}
    filled = {key: value for key, value in merged.items() if value is not None}
    if name:
        filled.setdefault("name", name)
    filled.setdefault("low", survey.low)
    filled.setdefault("high", survey.high)
    for key, default in survey.placeholders.items():
        filled.setdefault(key, pick(default, locale, survey.default_locale))
    return filled


def unfilled(
    survey: Survey,
    *,
    contact: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> tuple[str, ...]:
    """The placeholders the survey's texts use that nothing would fill, sorted (empty: none)."""
    if not survey.uses:
        return ()
    known = values(survey, contact=contact, trigger=trigger, name=name)
    return tuple(sorted(survey.uses - known.keys()))


def explain(survey: Survey, missing: Sequence[str]) -> str:
    """The sentence that refuses a trigger leaving `missing` unfilled, and what would fix it."""
    shown = _and([f"{{{name}}}" for name in missing])
    fields = _and([f"properties.{name}" for name in missing])
    one = len(missing) == 1
    example = ", ".join(f"{name}: ..." for name in missing)
    return (
        f"survey {survey.key!r} uses {shown} in its texts, but neither the trigger's nor the"
        f" contact's properties fill {'it' if one else 'them'}: send {fields}, or give the"
        f" survey {'a default' if one else 'defaults'} (placeholders: {{{example}}})"
    )


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"
