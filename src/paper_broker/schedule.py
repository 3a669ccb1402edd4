"""Timed events of the paper exchange: TTL expiries and the trading-day rollover at midnight IST."""

from __future__ import annotations

import heapq

from .prices import DAY_SECONDS, next_midnight


class Schedule:
    """Events in time order; `next_at` lets the hot path skip all of this with one comparison."""

    def __init__(self, second: int) -> None:
        self.day_end = next_midnight(second)
        self._expiries: list[tuple[int, str]] = []
        self.next_at = self.day_end

    def expire_at(self, second: int, order_id: str) -> None:
        heapq.heappush(self._expiries, (second, order_id))
        self.next_at = min(self.next_at, second)

    def pop_due(self, second: int) -> tuple[int, str | None] | None:
        """The earliest event at or before `second`: an order to expire, or None for midnight."""
        if self._expiries and self._expiries[0][0] <= min(second, self.day_end):
            due = heapq.heappop(self._expiries)
            self._refresh()
            return due[0], due[1]
        if self.day_end <= second:
            at = self.day_end
            self.day_end += DAY_SECONDS
            self._refresh()
            return at, None
        return None

    def _refresh(self) -> None:
        first = self._expiries[0][0] if self._expiries else self.day_end
        self.next_at = min(first, self.day_end)
