"""A Zendesk ticket named by a trigger: the `zendesk_ticket_id` property, and its check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import Unprocessable

# A trigger carrying this property asks for its response to be written back to that ticket.
TICKET_PROPERTY = "zendesk_ticket_id"
# Zendesk's ticket ids are positive whole numbers; 18 digits keep one within 64 bits.
MAX_TICKET_DIGITS = 18


def ticket_number(value: Any) -> str | None:
    """A ticket id as digits (`1234` and `"1234"` alike), or None if `value` is not one."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > MAX_TICKET_DIGITS:
        return None
    return text if int(text) > 0 else None


def check_ticket_property(properties: Mapping[str, Any] | None) -> None:
    """Unprocessable naming `properties.zendesk_ticket_id` when it is given but not a ticket id."""
    value = (properties or {}).get(TICKET_PROPERTY)
    if value is not None and ticket_number(value) is None:
        raise Unprocessable(
            f"{TICKET_PROPERTY} must be the number of a Zendesk ticket, e.g. 1234",
            field=f"properties.{TICKET_PROPERTY}",
        )
