"""When a failed delivery is tried again, and when it is given up.

Retried with exponential backoff on 5xx, 408, 429, timeouts and connection errors (honouring
`Retry-After`), for 24 hours from the first attempt; never on another 4xx (a 410 says the
endpoint is gone). An endpoint failing for 24 hours in a row is switched off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
FIRST_DELAY = 30.0  # seconds
MAX_DELAY = 3600.0
RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after an attempt: done (delivered or failed for good), or retry at `retry_at`."""

    delivered: bool
    retry_at: datetime | None
    reason: str | None = None
    # Retried for a day without success: the endpoint has been failing that long.
    gave_up: bool = False

    @property
    def failed(self) -> bool:
        return not self.delivered and self.retry_at is None


def retryable(status: int | None) -> bool:
    """A status worth retrying; None is a timeout or a connection error."""
    return status is None or status >= 500 or status in RETRIED_STATUSES


def backoff(attempts: int, retry_after: float | None = None, *, jitter: float = 0.1) -> float:
    """Seconds until the next attempt after `attempts` failed ones."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_DELAY)
    delay = min(FIRST_DELAY * 2 ** max(0, attempts - 1), MAX_DELAY)
    return delay * (1 + random.uniform(-jitter, jitter))


def verdict(
    status: int | None,
    *,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    retry_after: float | None = None,
    error: str | None = None,
) -> Verdict:
    """The outcome of attempt number `attempts` (1 for the first)."""
    if status is not None and 200 <= status < 300:
        return Verdict(delivered=True, retry_at=None)
    reason = error or f"HTTP {status}"
    if not retryable(status):
        return Verdict(delivered=False, retry_at=None, reason=f"{reason} (not retried)")
    at = now + timedelta(seconds=backoff(attempts, retry_after))
    if at - first_attempt_at > GIVE_UP_AFTER:
        return Verdict(
            delivered=False, retry_at=None, reason=f"{reason} (gave up after 24 h)", gave_up=True
        )
    return Verdict(delivered=False, retry_at=at, reason=reason)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header in seconds (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())
