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
from order_service.domain.values import TransactionType

K = TypeVar("K", bound=Hashable)
DatedFill = tuple[date, Fill]  # a fill with its trade date (``domain.position.dated``)
_DELIVERY = "CNC"
_EQUITY = frozenset({"NSE", "BSE"})
_SELL = TransactionType.SELL


class _Executed:
    """One executed order's fills summed: its quantity and turnover, and whose it is."""

    __slots__ = ("first", "quantity", "turnover")

    def __init__(self, first: Fill) -> None:
        self.first = first
        self.quantity = 0
        self.turnover = Decimal(0)


def charges_by_group(
    schedules: ChargeSchedules, fills: Sequence[DatedFill], group: Callable[[Fill], K]
) -> dict[K, Charges]:
    """Return the charges of these fills with their trade dates, summed per group."""
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


def _executed_orders(fills: Sequence[DatedFill]) -> dict[date, dict[OrderId, _Executed]]:
    days: dict[date, dict[OrderId, _Executed]] = {}
    for day, fill in fills:
        report = fill.report
        orders = days.get(day)
        if orders is None:
            orders = days[day] = {}
        executed = orders.get(fill.order_id)
        if executed is None:
            executed = orders[fill.order_id] = _Executed(fill)
        executed.quantity += report.quantity
        executed.turnover += report.quantity * report.price
    return days


def _delivery_sales(fills: Sequence[DatedFill]) -> dict[tuple[AccountId, date, str], Fill]:
    """The first delivery sale of each (account, day, scrip)."""
    first: dict[tuple[AccountId, date, str], Fill] = {}
    for day, fill in fills:
        report = fill.report
        sold = report.product == _DELIVERY and report.transaction_type is _SELL
        if sold and report.exchange in _EQUITY:
            first.setdefault((fill.account_id, day, report.tradingsymbol), fill)
    return first


def _add(totals: dict[K, Charges], key: K, charges: Charges) -> None:
    held = totals.get(key)
    totals[key] = charges if held is None else held + charges
