"""``InProcessRateBudget``: the RateBudget port for a single process."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable

from order_service.adapters.coordination.errors import budget_spent
from order_service.domain.budget import Bucket, BudgetRules, earliest_admission
from order_service.domain.ids import AccountId


class InProcessRateBudget:
    """Reserved send times per (account, bucket), kept sorted and pruned past the longest window."""

    def __init__(self, rules: BudgetRules, now: Callable[[], float] = time.monotonic) -> None:
        self._rules = rules
        self._now = now
        self._reserved: dict[tuple[AccountId, Bucket], list[float]] = {}
        self._lock = asyncio.Lock()

    async def reserve(self, account_id: AccountId, bucket: Bucket, max_wait: float) -> float:
        async with self._lock:
            now = self._now()
            times = self._reserved.setdefault((account_id, bucket), [])
            del times[: bisect.bisect_right(times, now - self._rules.horizon(bucket))]
            at = earliest_admission(times, now, self._rules.of(bucket), self._rules.margin)
            if at - now > max_wait:
                raise budget_spent(account_id, bucket, at - now)
            bisect.insort(times, at)
        return at - now

    async def close(self) -> None:
        self._reserved.clear()
