"""Trade sync: read each account's trade book into the fill ledger, at a cost that does not grow.

While an account's order stream is up, its fills arrive with the updates (an update that shows
more filled reads that order's own trades, ``order_trades``), so its whole trade book is read
only every ``SYNC_BOOK_INTERVAL_SECONDS`` as the safety net, like the order book. While the
stream is down, and on the first pass that sees the account (a fresh worker, or an account this
process has just come to own), the trade book is read every pass. An account with a recent
order that has filled more than the ledger holds (settled by a book read before its fills came)
is read on the next pass, then, while reads bring nothing, after 1, 3, 7 … more passes, up to
the slow cadence. A read that fails is tried again on the next pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.services.trades import TradeSyncResult

log = get_logger(__name__)
_MAX_DOUBLINGS = 16  # far past any slow cadence: the wait is capped by it anyway


class TradeSyncWorker:
    """One pass: every account with working or recently changed orders whose trade book is due."""

    name = "trade_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.trade_sync_interval_seconds
        self._book_interval = timedelta(seconds=services.settings.sync_book_interval_seconds)
        self._read_at: dict[AccountId, datetime] = {}  # when each account's last read began
        # Reads in a row that found nothing new while the account was short of fills: each
        # doubles the wait for the next (fills that never come cost a read per slow cadence).
        self._fruitless: dict[AccountId, int] = {}

    async def run_once(self) -> None:
        owns = self._services.ownership.owns
        # An account this process stops owning is forgotten: when it comes back, its trade
        # book is read at once.
        self._read_at = {a: at for a, at in self._read_at.items() if owns(a)}
        trades = self._services.trades
        # Any logged-in account may hold an order the book settled before its fills came,
        # however many newer orders of other accounts there are.
        live = [account.account_id for account in await self._services.startup.live_accounts()]
        short = await trades.accounts_short(live)
        self._fruitless = {a: n for a, n in self._fruitless.items() if a in short}
        accounts = sorted({*await trades.accounts_to_sync(), *short})
        due = [account for account in accounts if owns(account) and self._due(account, short)]
        await for_each_account("trade sync", due, self._syncing(short), _observe)

    def _due(self, account_id: AccountId, short: frozenset[AccountId]) -> bool:
        last = self._read_at.get(account_id)
        if last is None or not self._services.streams.is_up(account_id):
            return True
        elapsed = self._services.clock.now() - last
        if account_id in short:
            # An order the book settled (a book read, a poll, the stream before it was up)
            # while the ledger lacks some of its fills: exits wait on them, so they are read
            # for soon, then less and less often while the reads bring nothing.
            misses = min(self._fruitless.get(account_id, 0), _MAX_DOUBLINGS)
            wait = timedelta(seconds=self.interval * (2**misses - 1))
            return elapsed >= min(wait, self._book_interval)
        return elapsed >= self._book_interval

    def _syncing(
        self, short: frozenset[AccountId]
    ) -> Callable[[AccountId], Awaitable[TradeSyncResult]]:
        async def sync(account_id: AccountId) -> TradeSyncResult:
            started_at = self._services.clock.now()
            result = await self._services.trades.sync_account(account_id)
            self._read_at[account_id] = started_at
            if account_id in short and not result.recorded:
                self._fruitless[account_id] = self._fruitless.get(account_id, 0) + 1
            else:
                self._fruitless.pop(account_id, None)
            return result

        return sync


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
