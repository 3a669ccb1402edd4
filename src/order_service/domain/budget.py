"""Per-account request budgets: Kite's sliding-window limits and when the next request fits.

A bucket's windows are all enforced at once (orders: 10 a second, 400 a minute, 5,000 a day).
A set of admission times respects a window of ``limit`` per ``seconds`` when every ``limit + 1``
consecutive admissions span at least ``seconds``; ``margin`` widens each window so that clock
skew and network jitter never let the broker count ``limit + 1`` in one of its windows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Bucket(StrEnum):
    """The broker's rate-limit classes (KITE.md section 7)."""

    ORDERS = "orders"
    OTHER = "other"
    QUOTES = "quotes"
    HISTORICAL = "historical"


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long interval."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError(f"a window needs a positive limit and length, got {self}")


@dataclass(frozen=True, slots=True)
class BudgetRules:
    """The windows of every bucket, and the safety margin added to each (from ``Settings``)."""

    windows: dict[Bucket, tuple[Window, ...]]
    margin: float

    def of(self, bucket: Bucket) -> tuple[Window, ...]:
        return self.windows[bucket]

    def horizon(self, bucket: Bucket) -> float:
        """Return how long an admission can still matter to this bucket."""
        return max(window.seconds for window in self.of(bucket)) + self.margin


def earliest_admission(
    admitted: Sequence[float],
    now: float,
    windows: Sequence[Window],
    margin: float,
) -> float:
    """Return the earliest time >= ``now`` at which one more admission fits every window."""
    times = sorted(admitted)
    at = now
    for start, end in sorted(_blocked(times, now, windows, margin)):
        if start >= at:
            break  # spans are sorted by start: no later one can cover ``at`` either
        at = max(at, end)
    return at


def _blocked(
    times: list[float], now: float, windows: Sequence[Window], margin: float
) -> Iterator[tuple[float, float]]:
    """Yield the open spans where one more admission would overfill a window.

    A run of ``limit`` consecutive admissions shorter than a window blocks every time less than
    the window's length after its first and before its last; runs that end before ``now`` are
    skipped.
    """
    for window in windows:
        width = window.seconds + margin
        recent = times[bisect.bisect_right(times, now - width) :]
        for first in range(len(recent) - window.limit + 1):
            last = recent[first + window.limit - 1]
            if recent[first] + width > last:
                yield last - width, recent[first] + width
