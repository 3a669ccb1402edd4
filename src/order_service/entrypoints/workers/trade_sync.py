"""Trade sync: read each account's trade book into the fill ledger."""

from __future__ import annotations

import asyncio

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.errors import BrokerUnavailable, OrderServiceError
from order_service.observability.logging import bind, get_logger
from order_service.observability.metrics import RECONCILIATION_DRIFT

log = get_logger(__name__)
CONCURRENT_ACCOUNTS = 8


class TradeSyncWorker:
    """One pass: every account with working or recently changed orders gets one trade-book read."""

    name = "trade_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.trade_sync_interval_seconds

    async def run_once(self) -> None:
        accounts = await self._services.trades.accounts_to_sync()
        gate = asyncio.Semaphore(CONCURRENT_ACCOUNTS)
        failures = await asyncio.gather(*(self._sync(account, gate) for account in accounts))
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
                result = await self._services.trades.sync_account(account_id)
            except BrokerUnavailable as exc:
                return exc
            except OrderServiceError as exc:
                log.warning("trade sync failed", account=account_id, code=exc.error_code)
                return None
        RECONCILIATION_DRIFT.labels("fill").inc(result.drifted)
        RECONCILIATION_DRIFT.labels("fill_unknown_order").inc(result.unknown)
        RECONCILIATION_DRIFT.labels("fill_tag_mismatch").inc(result.mismatched)
        if result.drifted:
            log.warning("fills disagree with the order book", account=account_id)
        return None
