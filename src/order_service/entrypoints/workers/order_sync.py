"""Order sync: keep each owned account's orders in step with the broker, at a bounded cost.

Per account and pass, one of two reads:

- the whole order book (``reconcile.sync_account``) on the first pass that sees the account
  (a fresh worker, or an account this process has just come to own), every
  ``SYNC_BOOK_INTERVAL_SECONDS`` while its order stream is up, on every pass while the stream
  is down, and when an order that only the book can find (no broker id yet) asks for it;
- otherwise only the quiet unsettled orders, one ``order_history`` each (``services.polling``).

While the stream is down the book is read every pass, but never for more than a tenth of the
time: a read that took *d* seconds is followed by the next no sooner than 9 *d* after it ended
(and never later than the slow cadence); between them the quiet orders are polled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.observability.metrics import (
    ORDER_UNKNOWN_AGE,
    ORDERS_UNKNOWN,
    RECONCILIATION_DRIFT,
    SYNC_READS,
    UNMAPPED_STATUSES,
)
from order_service.services.polling import PollResult
from order_service.services.reconcile import SyncResult

log = get_logger(__name__)
# While an account's stream is down, reading its book may take at most this share of the time,
# so a large book slows the book reads of that account, not the orders.
MAX_BOOK_DUTY = 0.1


@dataclass(frozen=True, slots=True)
class _BookRead:
    """An account's last complete book read: when it began, how long until the next one, and
    the stream connection it began under (an order placed before a newer one opened is in no
    stream: the book is read once more for it)."""

    started_at: datetime
    spacing: timedelta
    connection: int = 0


class OrderSyncWorker:
    """One pass: every owned account with unsettled orders gets a book read or targeted polls."""

    name = "order_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.sync_interval_seconds
        self._book_interval = timedelta(seconds=services.settings.sync_book_interval_seconds)
        self._books: dict[AccountId, _BookRead] = {}

    async def run_once(self) -> None:
        accounts = await self._owned_accounts()
        try:
            await for_each_account("order sync", accounts, self._sync, _observe)
        finally:
            await self._observe_unknown()

    async def _owned_accounts(self) -> list[AccountId]:
        owns = self._services.ownership.owns
        # An account this process stops owning is forgotten: when it comes back, the book of
        # the time it was away is read in full first.
        self._books = {account: read for account, read in self._books.items() if owns(account)}
        unsettled = await self._services.reconcile.accounts_to_sync()
        # Every logged-in account's book is read at the slow cadence too: orders placed in
        # the Kite app or web appear there even when no order of ours is working.
        live = [account.account_id for account in await self._services.startup.live_accounts()]
        return sorted(account for account in {*unsettled, *live} if owns(account))

    async def _sync(self, account_id: AccountId) -> SyncResult | PollResult:
        last = self._books.get(account_id)
        if last is None or self._book_due(account_id, last):
            return await self._read_book(account_id)
        result = await self._services.polling.poll_account(account_id, last.started_at)
        if result.book_needed:
            return await self._read_book(account_id)
        if result.stopped_by is not None:
            _observe(account_id, result)  # what was read before the refusal still counts
            raise result.stopped_by
        return result

    def _book_due(self, account_id: AccountId, last: _BookRead) -> bool:
        elapsed = self._services.clock.now() - last.started_at
        if elapsed >= self._book_interval:
            return True
        if last.connection != self._services.streams.connection(account_id):
            return True  # the stream (re)opened since: what came before it is in no stream
        return not self._services.streams.is_up(account_id) and elapsed >= last.spacing

    async def _read_book(self, account_id: AccountId) -> SyncResult:
        clock = self._services.clock
        started_at = clock.now()
        connection = self._services.streams.connection(account_id)
        result = await self._services.reconcile.sync_account(account_id)
        took = max(clock.now() - started_at, timedelta(0))
        # Start to next start: long enough for a 10 % share, never longer than the cadence.
        spacing = min(self._book_interval, took / MAX_BOOK_DUTY)
        self._books[account_id] = _BookRead(started_at, spacing, connection)
        return result

    async def _observe_unknown(self) -> None:
        ages = await self._services.reconcile.unknown_ages()
        ORDERS_UNKNOWN.set(len(ages))
        ORDER_UNKNOWN_AGE.set(ages[0] if ages else 0)


def _observe(account_id: AccountId, result: SyncResult | PollResult) -> None:
    if isinstance(result, SyncResult):
        SYNC_READS.labels("book").inc()
        count_drift(result.drift())
    else:
        SYNC_READS.labels("history").inc(result.reads)
        if result.refused:
            log.warning("order history refused", account=account_id, orders=result.refused)
        RECONCILIATION_DRIFT.labels("order_status").inc(result.updated)
        RECONCILIATION_DRIFT.labels("tag_mismatch").inc(result.mismatched)
    UNMAPPED_STATUSES.inc(len(result.unmapped_statuses))
