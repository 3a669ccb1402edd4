"""Keep the fill ledger in step with the broker's trade book, and orders with their fills."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from order_service.domain.account import EVERY_ACCOUNT
from order_service.domain.fill import Fill, FillSource, FillTotals, record_fills
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId
from order_service.domain.order import Order
from order_service.domain.reports import FillReport, OrderStatusReport
from order_service.errors import AuthenticationError, Conflict, NotFound, StaleWrite
from order_service.services.access import session_for
from order_service.services.ports import Broker, Clock, OrderQuery, UnitOfWorkFactory

_ATTEMPTS = 3
# How many of the newest orders are looked at for ones completed within the recent window.
RECENT_PAGE = 500


@dataclass(slots=True)
class TradeSyncResult:
    """What one pass over an account's trade book found and stored."""

    recorded: int = 0  # fills stored for the first time
    unknown: int = 0  # fills of broker orders we do not have (external orders: later)
    mismatched: int = 0  # fills of a broker id that is ours, in a book row whose tag is not
    drifted: int = 0  # orders whose order-book filled quantity differs from their fills


class TradeSyncService:
    """Stores each fill of our orders once and makes the orders agree with their fills."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock, recent: timedelta
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._recent = recent

    async def accounts_to_sync(self) -> list[AccountId]:
        """Return the accounts with working orders or orders that changed recently."""
        since = self._clock.now() - self._recent
        async with self._uow() as uow:
            unsettled = await uow.orders.accounts_with_unsettled()
            newest = await uow.orders.list(OrderQuery(EVERY_ACCOUNT, limit=RECENT_PAGE))
        recent = {o.account_id for o in newest if o.broker_order_id and o.updated_at >= since}
        return sorted(set(unsettled) | recent)

    async def fills_of(self, order_id: OrderId) -> list[Fill]:
        """Return the order's fills as the ledger holds them."""
        async with self._uow() as uow:
            return await uow.fills.for_order(order_id)

    async def sync_account(self, account_id: AccountId) -> TradeSyncResult:
        """Read the account's trade book once and store what is new of our orders' fills."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        try:
            session = session_for(account, self._clock.now())
        except AuthenticationError:
            return TradeSyncResult()
        trades = await self._broker.trades(session)
        if not trades:
            return TradeSyncResult()
        # The book says which order a broker id is (its tag) and how much of it is filled.
        book = {report.broker_order_id: report for report in await self._broker.orders(session)}
        result = TradeSyncResult()
        for broker_order_id, reports in _by_order(trades).items():
            await self._sync_order(account_id, reports, book.get(broker_order_id), result)
        return result

    async def _sync_order(
        self,
        account_id: AccountId,
        reports: list[FillReport],
        row: OrderStatusReport | None,
        result: TradeSyncResult,
    ) -> None:
        async with self._uow() as uow:
            order = await uow.orders.get_by_broker_order_id(account_id, reports[0].broker_order_id)
        if order is None:
            result.unknown += len(reports)
            return
        if row is None or not order.is_reported_by(row):
            result.mismatched += len(reports)  # never attribute another order's fills
            return
        recorded, totals = await self._store(order, reports, row.filled_quantity)
        result.recorded += recorded
        result.drifted += int(totals.quantity != row.filled_quantity)

    async def _store(
        self, order: Order, reports: list[FillReport], book_filled: int
    ) -> tuple[int, FillTotals]:
        """Store the new fills and the order's change in one transaction; retry a stale order."""
        current = order
        for _ in range(_ATTEMPTS):
            try:
                return await self._store_once(current, reports, book_filled)
            except StaleWrite:
                current = await self._reload(order)
        raise Conflict(
            "the order changed concurrently; retry",
            details={"order_id": order.order_id},
            retryable=True,
        )

    async def _store_once(
        self, order: Order, reports: list[FillReport], book_filled: int
    ) -> tuple[int, FillTotals]:
        at = self._clock.now()
        fills = [Fill.of(order, report, FillSource.TRADES, at) for report in reports]
        async with self._uow() as uow:
            new = await uow.fills.add_new(fills)
            ledger = await uow.fills.for_order(order.order_id)
            if record_fills(order, new, ledger, book_filled, at):
                await uow.orders.save(order)
            await uow.commit()
        return len(new), FillTotals.of(ledger)

    async def _reload(self, order: Order) -> Order:
        async with self._uow() as uow:
            fresh = await uow.orders.get(order.order_id)
        if fresh is None:
            raise Conflict("the order disappeared", details={"order_id": order.order_id})
        return fresh


def _by_order(trades: list[FillReport]) -> dict[BrokerOrderId, list[FillReport]]:
    grouped: defaultdict[BrokerOrderId, list[FillReport]] = defaultdict(list)
    for report in trades:
        grouped[report.broker_order_id].append(report)
    return dict(grouped)
