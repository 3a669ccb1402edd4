"""Charges of the fills in a range: per executed order, and DP per scrip per day, by group.

An executed order is one order's fills on one trading day: brokerage is per executed order, so
an order filled in three trades pays it once, on its summed turnover. The DP charge is per
account, scrip and day of delivery (CNC) sales; it goes to the group of that day's first such
sale of the scrip.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from order_service.domain.charges import Charges, ChargeSchedules, dp_charges, order_charges
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.position import trade_date
from order_service.domain.values import TransactionType

K = TypeVar("K", bound=Hashable)
_DELIVERY = "CNC"
_EQUITY = frozenset({"NSE", "BSE"})


class _Executed:
    """One executed order's fills summed: its quantity and turnover, and whose it is."""

    __slots__ = ("first", "quantity", "turnover")

    def __init__(self, first: Fill) -> None:
        self.first = first
        self.quantity = 0
        self.turnover = Decimal(0)


def charges_by_group(
    schedules: ChargeSchedules, fills: Sequence[Fill], group: Callable[[Fill], K]
) -> dict[K, Charges]:
    """Return the charges of these fills (all in the range asked for), summed per group."""
    totals: dict[K, Charges] = {}
    for day, executed in _executed_orders(fills).items():
        for order in executed.values():
            report = order.first.report
            charged = order_charges(
                schedules,
                report.exchange,
                report.tradingsymbol,
                report.product,
                report.transaction_type is TransactionType.BUY,
                order.quantity,
                order.turnover,
                day,
            )
            _add(totals, group(order.first), charged)
    for (_, day, _), first in _delivery_sales(fills).items():
        _add(totals, group(first), dp_charges(schedules, day, 1))
    return totals


def _executed_orders(fills: Sequence[Fill]) -> dict[date, dict[OrderId, _Executed]]:
    days: dict[date, dict[OrderId, _Executed]] = {}
    for fill in fills:
        orders = days.setdefault(trade_date(fill), {})
        executed = orders.get(fill.order_id)
        if executed is None:
            executed = orders[fill.order_id] = _Executed(fill)
        executed.quantity += fill.report.quantity
        executed.turnover += fill.report.quantity * fill.report.price
    return days


def _delivery_sales(fills: Sequence[Fill]) -> dict[tuple[AccountId, date, str], Fill]:
    """The first delivery sale of each (account, day, scrip)."""
    first: dict[tuple[AccountId, date, str], Fill] = {}
    for fill in fills:
        report = fill.report
        if (
            report.product == _DELIVERY
            and report.exchange in _EQUITY
            and report.transaction_type is TransactionType.SELL
        ):
            first.setdefault((fill.account_id, trade_date(fill), report.tradingsymbol), fill)
    return first


def _add(totals: dict[K, Charges], key: K, charges: Charges) -> None:
    held = totals.get(key)
    totals[key] = charges if held is None else held + charges
