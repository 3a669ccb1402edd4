"""The fill ledger: each execution stored once, and what an order's fills add up to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from order_service.domain.ids import AccountId, OrderId, StrategyId
from order_service.domain.order import Order
from order_service.domain.reports import FillReport, TradeId

ORDER_FILL_RECORDED = "OrderFillRecorded"
ORDER_FILLS_RECONCILED = "OrderFillsReconciled"
ORDER_FILL_DRIFT_FOUND = "OrderFillDriftFound"


class FillSource(StrEnum):
    """Which broker read told us of a fill."""

    TRADES = "trades"
    ORDER_TRADES = "order_trades"
    ORDER_UPDATE = "order_update"


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders, as the ledger keeps it."""

    account_id: AccountId
    order_id: OrderId
    strategy_id: StrategyId
    report: FillReport
    source: FillSource
    recorded_at: datetime
    sequence: int | None = None  # assigned when it is stored

    @property
    def trade_id(self) -> TradeId:
        return self.report.trade_id

    @classmethod
    def of(cls, order: Order, report: FillReport, source: FillSource, at: datetime) -> Fill:
        return cls(order.account_id, order.order_id, order.strategy_id, report, source, at)


@dataclass(frozen=True, slots=True)
class FillTotals:
    """What a set of fills adds up to: the quantity and its weighted average price (exact)."""

    quantity: int
    average_price: Decimal | None

    @classmethod
    def of(cls, fills: Sequence[Fill]) -> FillTotals:
        quantity = sum(fill.report.quantity for fill in fills)
        if not quantity:
            return cls(0, None)
        value = sum((fill.report.price * fill.report.quantity for fill in fills), Decimal(0))
        return cls(quantity, value / quantity)


def record_fills(
    order: Order, new: Sequence[Fill], ledger: Sequence[Fill], book_filled: int, at: datetime
) -> bool:
    """Record ``new`` fills on ``order`` and take the ledger's totals; return True if it changed.

    ``book_filled`` is the order book's filled quantity: when new fills leave the ledger apart
    from it, the drift is recorded too (only then, so a lasting drift is one event, not one a
    pass).
    """
    for fill in new:
        order.record(ORDER_FILL_RECORDED, at, **_fill_data(fill))
    totals = FillTotals.of(ledger)
    if new and totals.quantity != book_filled:
        order.record(
            ORDER_FILL_DRIFT_FOUND,
            at,
            book_filled_quantity=book_filled,
            ledger_filled_quantity=totals.quantity,
        )
    return _take_totals(order, totals, at) or bool(new)


def _take_totals(order: Order, totals: FillTotals, at: datetime) -> bool:
    """Take the ledger's totals, which only ever raise the order's filled quantity.

    A trade book that lags the order book (they are read at different moments) must not undo
    a fill the order book reported.
    """
    if totals.quantity < order.filled_quantity:
        return False
    if (totals.quantity, totals.average_price) == (order.filled_quantity, order.average_price):
        return False
    order.filled_quantity = totals.quantity
    order.average_price = totals.average_price
    order.record(
        ORDER_FILLS_RECONCILED,
        at,
        filled_quantity=totals.quantity,
        average_price=str(totals.average_price),
    )
    return True


def _fill_data(fill: Fill) -> dict[str, object]:
    report = fill.report
    return {
        "trade_id": report.trade_id,
        "broker_order_id": report.broker_order_id,
        "quantity": report.quantity,
        "price": str(report.price),
        "source": fill.source.value,
    }
