"""Order sync: pull each account's order book and reconcile it with our orders."""

from __future__ import annotations

import time
from collections.abc import Callable

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import for_each_account
from order_service.observability.logging import get_logger
from order_service.observability.metrics import (
    ORDER_UNKNOWN_AGE,
    ORDERS_UNKNOWN,
    RECONCILIATION_DRIFT,
    UNMAPPED_STATUSES,
)
from order_service.services.reconcile import SyncResult

log = get_logger(__name__)
# The sync is a safety net beside the order path: a pass may take at most this share of the
# time, so a large order book (parsed in full on every pass) slows the polling, not the orders.
MAX_DUTY = 0.1
MAX_INTERVAL_FACTOR = 10  # however large the books, poll at least every ten base intervals


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
        reconcile = self._services.reconcile
        accounts = await reconcile.accounts_to_sync()
        try:
            await for_each_account("order sync", accounts, reconcile.sync_account, _observe)
        finally:
            await self._observe_unknown()

    async def _observe_unknown(self) -> None:
        ages = await self._services.reconcile.unknown_ages()
        ORDERS_UNKNOWN.set(len(ages))
        ORDER_UNKNOWN_AGE.set(ages[0] if ages else 0)


def _observe(_: AccountId, result: SyncResult) -> None:
    RECONCILIATION_DRIFT.labels("order_status").inc(result.updated)
    RECONCILIATION_DRIFT.labels("unknown_failed").inc(result.failed)
    RECONCILIATION_DRIFT.labels("tag_mismatch").inc(result.mismatched)
    UNMAPPED_STATUSES.inc(len(result.unmapped_statuses))
