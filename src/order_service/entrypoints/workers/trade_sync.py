"""Trade sync: read each account's trade book into the fill ledger."""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.services.trades import TradeSyncResult

log = get_logger(__name__)


class TradeSyncWorker:
    """One pass: every account with working or recently changed orders gets one trade-book read."""

    name = "trade_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.trade_sync_interval_seconds

    async def run_once(self) -> None:
        trades = self._services.trades
        accounts = await trades.accounts_to_sync()
        await for_each_account("trade sync", accounts, trades.sync_account, _observe)


def _observe(account_id: AccountId, result: TradeSyncResult) -> None:
    count_drift(result.drift())
    for refused in result.refused:
        report = refused.report
        log.warning(
            "fill refused by the instrument master",
            account=account_id,
            trade_id=report.trade_id,
            instrument=f"{report.exchange}:{report.tradingsymbol}",
            reason=refused.reason,
        )
    if result.drifted:
        log.warning("fills disagree with the order book", account=account_id)
