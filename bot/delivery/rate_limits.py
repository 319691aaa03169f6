"""Per-channel send budgets: so many sends in each window of so many seconds, for every worker."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A channel's budget: `per_window` sends in each window of `seconds`."""

    seconds: int
    per_window: int

    @classmethod
    def per_second(cls, rate: float) -> RateLimit:
        # Rates below one per second get a longer window holding a whole send.
        seconds = 1 if rate >= 1 else math.ceil(1 / rate)
        return cls(seconds=seconds, per_window=max(1, math.floor(rate * seconds)))

    def window(self, now: datetime) -> int:
        epoch = int(now.timestamp())
        return epoch - epoch % self.seconds
