"""Trade sync: read each account's trade book into the fill ledger, at a cost that does not grow.

While an account's order stream is up, its fills arrive with the updates (an update that shows
more filled reads that order's own trades, ``order_trades``), so its whole trade book is read
only every ``SYNC_BOOK_INTERVAL_SECONDS`` as the safety net, like the order book. While the
stream is down, and on the first pass that sees the account (a fresh worker, or an account this
process has just come to own), the trade book is read every pass. A read that fails is tried
again on the next pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.services.trades import TradeSyncResult

log = get_logger(__name__)


class TradeSyncWorker:
    """One pass: every account with working or recently changed orders whose trade book is due."""

    name = "trade_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.trade_sync_interval_seconds
        self._book_interval = timedelta(seconds=services.settings.sync_book_interval_seconds)
        self._read_at: dict[AccountId, datetime] = {}  # when each account's last read began

    async def run_once(self) -> None:
        owns = self._services.ownership.owns
        # An account this process stops owning is forgotten: when it comes back, its trade
        # book is read at once.
        self._read_at = {a: at for a, at in self._read_at.items() if owns(a)}
        trades = self._services.trades
        short = await trades.accounts_short()
        accounts = sorted({*await trades.accounts_to_sync(), *short})
        due = [account for account in accounts if owns(account) and self._due(account, short)]
        await for_each_account("trade sync", due, self._sync, _observe)

    def _due(self, account_id: AccountId, short: frozenset[AccountId]) -> bool:
        # An order the book settled (a book read, a poll, the stream before it was up) while
        # the ledger lacks some of its fills is read for at once: exits wait on those fills.
        last = self._read_at.get(account_id)
        if last is None or account_id in short or not self._services.streams.is_up(account_id):
            return True
        return self._services.clock.now() - last >= self._book_interval

    async def _sync(self, account_id: AccountId) -> TradeSyncResult:
        started_at = self._services.clock.now()
        result = await self._services.trades.sync_account(account_id)
        self._read_at[account_id] = started_at
        return result


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
