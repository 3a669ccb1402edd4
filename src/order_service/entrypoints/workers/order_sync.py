"""Order sync: pull each account's order book and reconcile it with our orders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.errors import BrokerUnavailable, OrderServiceError
from order_service.observability.logging import bind, get_logger
from order_service.observability.metrics import (
    ORDER_UNKNOWN_AGE,
    ORDERS_UNKNOWN,
    RECONCILIATION_DRIFT,
    UNMAPPED_STATUSES,
)

log = get_logger(__name__)
# The sync is a safety net beside the order path: a pass may take at most this share of the
# time, so a large order book (parsed in full on every pass) slows the polling, not the orders.
MAX_DUTY = 0.1
MAX_INTERVAL_FACTOR = 10  # however large the books, poll at least every ten base intervals
CONCURRENT_ACCOUNTS = 8


class OrderSyncWorker:
    """One pass: every account with unsettled orders gets one order-book fetch."""

    name = "order_sync"

    def __init__(self, services: Services, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._services = services
        self._monotonic = monotonic
        self._base_interval = services.settings.sync_interval_seconds
        self.interval = self._base_interval

    async def run_once(self) -> None:
        started = self._monotonic()
        try:
            await self._pass()
        finally:
            elapsed = self._monotonic() - started
            stretched = elapsed * (1 - MAX_DUTY) / MAX_DUTY
            ceiling = self._base_interval * MAX_INTERVAL_FACTOR
            self.interval = min(ceiling, max(self._base_interval, stretched))

    async def _pass(self) -> None:
        accounts = await self._services.reconcile.accounts_to_sync()
        gate = asyncio.Semaphore(CONCURRENT_ACCOUNTS)
        failures = await asyncio.gather(*(self._sync(account, gate) for account in accounts))
        await self._observe_unknown()
        unavailable = next((exc for exc in failures if exc is not None), None)
        if unavailable is not None:
            raise unavailable  # the other accounts were synced; now let the supervisor back off

    async def _sync(
        self, account_id: AccountId, gate: asyncio.Semaphore
    ) -> BrokerUnavailable | None:
        """Sync one account; accounts have separate budgets, so several run at once."""
        async with gate:
            bind(account=account_id)
            try:
                result = await self._services.reconcile.sync_account(account_id)
            except BrokerUnavailable as exc:
                return exc
            except OrderServiceError as exc:
                log.warning("order sync failed", account=account_id, code=exc.error_code)
                return None
        RECONCILIATION_DRIFT.labels("order_status").inc(result.updated)
        RECONCILIATION_DRIFT.labels("unknown_failed").inc(result.failed)
        RECONCILIATION_DRIFT.labels("tag_mismatch").inc(result.mismatched)
        UNMAPPED_STATUSES.inc(len(result.unmapped_statuses))
        return None

    async def _observe_unknown(self) -> None:
        ages = await self._services.reconcile.unknown_ages()
        ORDERS_UNKNOWN.set(len(ages))
        ORDER_UNKNOWN_AGE.set(ages[0] if ages else 0)
