"""Kite's per-user request limits, as sliding windows over real (monotonic) time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .errors import rate_limited

ORDERS = "orders"
QUOTE = "quote"
HISTORICAL = "historical"
OTHER = "other"

# (requests, window seconds); KITE.md section 7.
LIMITS: dict[str, tuple[tuple[int, float], ...]] = {
    ORDERS: ((10, 1.0), (400, 60.0), (5000, 86_400.0)),
    QUOTE: ((1, 1.0),),
    HISTORICAL: ((3, 1.0),),
    OTHER: ((10, 1.0),),
}


class RateLimiter:
    """A request is refused (429) if any window of its bucket is full; refusals don't count."""

    def __init__(self, enabled: bool = True, now: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._now = now
        self._windows: dict[tuple[str, str], tuple[deque[float], ...]] = {}

    def check(self, user_id: str, bucket: str) -> None:
        if not self.enabled:
            return
        windows = self._windows.get((user_id, bucket))
        if windows is None:
            windows = tuple(deque(maxlen=limit) for limit, _ in LIMITS[bucket])
            self._windows[(user_id, bucket)] = windows
        now = self._now()
        for window, (limit, seconds) in zip(windows, LIMITS[bucket], strict=True):
            if len(window) == limit and now - window[0] < seconds:
                raise rate_limited()
        for window in windows:
            window.append(now)
