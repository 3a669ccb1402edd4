"""Charges of the fills in a range: per executed order, and DP per scrip per day, by group.

An executed order is one order's fills on one trading day: brokerage is per executed order, so
an order filled in three trades pays it once, on its summed turnover, shared by the groups
holding its fills by quantity (an exit attributed to several strategies), to the paisa, the
rounding left to the last group. The DP charge is per
account, scrip and day of delivery (CNC, MTF) sales; it goes to the group of that day's first such
sale of the scrip.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from order_service.domain.charges import (
    DELIVERY_PRODUCTS,
    Charges,
    ChargeSchedules,
    dp_charges,
    order_charges,
)
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.position import ist_date
from order_service.domain.values import TransactionType
from order_service.errors import ValidationError

K = TypeVar("K", bound=Hashable)
_EQUITY = frozenset({"NSE", "BSE"})
_BUY, _SELL = TransactionType.BUY, TransactionType.SELL


class _Executed(Generic[K]):
    """One executed order's fills summed: its quantity and turnover, its day, and the
    quantity of it each group holds (an attributed exit's fills are several strategies')."""

    __slots__ = ("day", "first", "quantity", "shares", "turnover")

    def __init__(self, first: Fill, day: date) -> None:
        self.first = first
        self.day = day
        self.quantity = 0
        self.turnover = Decimal(0)
        self.shares: dict[K, int] = {}


@dataclass(frozen=True, slots=True)
class Uncharged:
    """An executed order no charge schedule covers (its segment, or its trade date)."""

    account_id: AccountId
    order_id: OrderId
    trade_date: date
    reason: str


@dataclass(slots=True)
class GroupCharges(Generic[K]):
    totals: dict[K, Charges] = field(default_factory=dict)
    uncharged: list[Uncharged] = field(default_factory=list)


def charges_by_group(
    schedules: ChargeSchedules,
    fills: Iterable[Fill],
    start: date,
    end: date,
    group: Callable[[Fill], K],
) -> GroupCharges[K]:
    """Return the charges of the fills traded on the days ``start``..``end``, per group.

    An executed order that no schedule can price (a currency or commodity segment, a day
    before the first schedule) is left out and named in ``uncharged``, never charged zero
    and never a refusal of the whole answer.
    """
    run = ChargeRun(schedules, start, end, group)
    run.extend(fills)
    return run.charges()


class ChargeRun(Generic[K]):
    """``charges_by_group``, resumable: fed more fills (later in the ledger than those fed),
    it prices again only the executed orders they add to."""

    __slots__ = ("_end", "_group", "_orders", "_priced", "_sales", "_schedules", "_start")

    def __init__(
        self, schedules: ChargeSchedules, start: date, end: date, group: Callable[[Fill], K]
    ) -> None:
        self._schedules = schedules
        self._start, self._end = start, end
        self._group = group
        self._orders: dict[tuple[OrderId, date], _Executed[K]] = {}
        self._sales: dict[tuple[AccountId, date, str], Fill] = {}
        self._priced: dict[tuple[OrderId, date], Charges | Uncharged] = {}

    def extend(self, fills: Iterable[Fill]) -> None:
        """Sum each fill of the range into its executed order; note the first delivery sale
        of each scrip a day. One pass, one trade date per fill: this runs over every fill of
        a busy day."""
        orders, sales, priced = self._orders, self._sales, self._priced
        start, end, group = self._start, self._end, self._group
        for fill in fills:
            report = fill.report
            day = ist_date(report.exchange_timestamp or fill.recorded_at)
            if day < start or day > end:
                continue
            executed = orders.get(key := (fill.order_id, day))
            if executed is None:
                executed = orders[key] = _Executed(fill, day)
            executed.quantity += report.quantity
            executed.turnover += report.quantity * report.price
            held = group(fill)
            executed.shares[held] = executed.shares.get(held, 0) + report.quantity
            if priced:  # priced before: price it again (a fresh run has priced nothing)
                priced.pop(key, None)
            sold = report.transaction_type is _SELL and report.product in DELIVERY_PRODUCTS
            if sold and report.exchange in _EQUITY:
                sales.setdefault((fill.account_id, day, report.tradingsymbol), fill)

    def charges(self) -> GroupCharges[K]:
        """The charges of every fill fed, per group."""
        charges: GroupCharges[K] = GroupCharges()
        parts: dict[K, list[Charges]] = {}
        for key, order in self._orders.items():
            priced = self._priced.get(key)
            if priced is None:
                priced = self._priced[key] = self._price(order)
            if isinstance(priced, Uncharged):
                charges.uncharged.append(priced)
            elif len(order.shares) == 1:
                parts.setdefault(next(iter(order.shares)), []).append(priced)
            else:  # shared by quantity, to the paisa
                groups = list(order.shares)
                shared = priced.shared([order.shares[g] for g in groups])
                for held, share in zip(groups, shared, strict=True):
                    parts.setdefault(held, []).append(share)
        for (_, day, _), first in self._sales.items():
            parts.setdefault(self._group(first), []).append(dp_charges(self._schedules, day, 1))
        charges.totals = {group: Charges.sum(items) for group, items in parts.items()}
        return charges

    def _price(self, order: _Executed[K]) -> Charges | Uncharged:
        report, first = order.first.report, order.first
        try:
            return order_charges(
                self._schedules,
                report.exchange,
                report.tradingsymbol,
                report.product,
                report.transaction_type is _BUY,
                order.quantity,
                order.turnover,
                order.day,
            )
        except ValidationError as exc:
            return Uncharged(first.account_id, first.order_id, order.day, exc.message)
