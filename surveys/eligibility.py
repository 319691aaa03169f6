"""Who may be surveyed now: opt-outs and the throttle window (later: quiet hours, sampling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

OPTED_OUT = "opted_out"
THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a trigger becomes an invitation, and if not, the reason recorded on it."""

    eligible: bool
    reason: str | None = None


def throttle_start(now: datetime, throttle_days: int) -> datetime | None:
    """The start of the window in which an earlier survey blocks a new one (None: no throttle)."""
    if throttle_days <= 0:
        return None
    return now - timedelta(days=throttle_days)


def decide(*, opted_out: bool, surveyed_in_window: bool) -> Decision:
    """Opt-out wins over the throttle: it is the reason that lasts."""
    if opted_out:
        return Decision(False, OPTED_OUT)
    if surveyed_in_window:
        return Decision(False, THROTTLED)
    return Decision(True)
