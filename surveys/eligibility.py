"""Who may be surveyed: opt-outs, the throttle window and sampling (quiet hours: quiet_hours)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

OPTED_OUT = "opted_out"
THROTTLED = "throttled"
SAMPLED_OUT = "sampled_out"


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


def sampled_in(sample_rate: float, trigger_key: str) -> bool:
    """Whether a trigger is in the sample; the same trigger always gets the same answer.

    The trigger's key is hashed to a number in [0, 1): a replay (same key) decides the same,
    and across many triggers the share sampled in approaches `sample_rate`.
    """
    if sample_rate >= 1:
        return True
    if sample_rate <= 0:
        return False
    digest = hashlib.sha256(trigger_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < sample_rate


def decide(*, opted_out: bool, surveyed_in_window: bool, sampled: bool = True) -> Decision:
    """Opt-out wins over the throttle, the throttle over sampling: the lasting reason is kept."""
    if opted_out:
        return Decision(False, OPTED_OUT)
    if surveyed_in_window:
        return Decision(False, THROTTLED)
    if not sampled:
        return Decision(False, SAMPLED_OUT)
    return Decision(True)
