"""Failed API-key checks counted per client address, in this process's memory, bounded in size."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI

# After LIMIT wrong keys from one address within WINDOW, its wrong keys answer 429 until the
# window (counted from its first failure) has passed.
LIMIT = 10
WINDOW = timedelta(minutes=1)
# Addresses remembered at most; past it the oldest windows are forgotten first.
MAX_ADDRESSES = 10_000


@dataclass
class _Window:
    started: datetime
    failures: int = 0


class AuthThrottle:
    """Counts failures per address in fixed windows; successes are never counted or slowed."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: timedelta = WINDOW,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        # Ordered by window start, so the front holds the windows that end first.
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def retry_after(self, address: str, now: datetime) -> int | None:
        """Whole seconds until `address` may try again, or None if it is not held back."""
        window = self._current(address, now)
        if window is None or window.failures < self.limit:
            return None
        left = (window.started + self.window - now).total_seconds()
        return max(1, math.ceil(left))

    def failed(self, address: str, now: datetime) -> None:
        """Count one failed authentication from `address`."""
        window = self._current(address, now)
        if window is None:
            self._forget_expired(now)
            while len(self._windows) >= self.max_addresses:
                self._windows.popitem(last=False)
            window = self._windows[address] = _Window(started=now)
        window.failures += 1

    def _current(self, address: str, now: datetime) -> _Window | None:
        window = self._windows.get(address)
        if window is not None and now >= window.started + self.window:
            del self._windows[address]
            return None
        return window

    def _forget_expired(self, now: datetime) -> None:
        while self._windows:
            first = next(iter(self._windows.values()))
            if now < first.started + self.window:
                return
            self._windows.popitem(last=False)


def for_app(app: FastAPI) -> AuthThrottle:
    """The app's throttle, made on first use (one per app, so one per process)."""
    throttle: AuthThrottle | None = getattr(app.state, "auth_throttle", None)
    if throttle is None:
        throttle = app.state.auth_throttle = AuthThrottle()
    return throttle
