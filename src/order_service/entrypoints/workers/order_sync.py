"""Order sync: pull each account's order book and reconcile it with our orders."""

from __future__ import annotations

import time
from collections.abc import Callable

from order_service.bootstrap import Services
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
            self.interval = max(self._base_interval, elapsed * (1 - MAX_DUTY) / MAX_DUTY)

    async def _pass(self) -> None:
        reconcile = self._services.reconcile
        unavailable: BrokerUnavailable | None = None
        for account_id in await reconcile.accounts_to_sync():
            bind(account=account_id)
            try:
                result = await reconcile.sync_account(account_id)
            except BrokerUnavailable as exc:
                unavailable = exc  # try the other accounts, then let the supervisor back off
                continue
            except OrderServiceError as exc:
                log.warning("order sync failed", account=account_id, code=exc.error_code)
                continue
            RECONCILIATION_DRIFT.labels("order_status").inc(result.updated)
            RECONCILIATION_DRIFT.labels("unknown_failed").inc(result.failed)
            UNMAPPED_STATUSES.inc(len(result.unmapped_statuses))
        await self._observe_unknown()
        if unavailable is not None:
            raise unavailable

    async def _observe_unknown(self) -> None:
        ages = await self._services.reconcile.unknown_ages()
        ORDERS_UNKNOWN.set(len(ages))
        ORDER_UNKNOWN_AGE.set(ages[0] if ages else 0)
