"""Realised and unrealised P&L from the fill ledger, by weighted average or by FIFO tax lots.

For P&L every product is carried from day to day, CNC included: a delivery bought on one day
and sold on a later one realises against its buy. Charges are added elsewhere.

- ``AVERAGE`` is Kite's position book: a day's realised is its matched quantity times the
  spread of the sell and buy averages, a carried quantity counted at its carried average;
  the days of the range are summed. Its unrealised is the ``net`` view's of the last day.
- ``FIFO`` matches tax lots first in, first out; a short is the mirror (a sell opens a lot,
  a later buy closes it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from order_service.domain.fill import Fill
from order_service.domain.position import (
    Mark,
    MarkBook,
    MarkLookup,
    TallyRun,
    dated,
    tally_fills,
)
from order_service.domain.tally import BUY, ZERO, Tally

K = TypeVar("K", bound=Hashable)


class PnlMethod(StrEnum):
    AVERAGE = "average"
    FIFO = "fifo"


@dataclass(frozen=True, slots=True)
class PnlFigures:
    """A group's P&L over a range; ``mark`` values the open quantity (None when flat)."""

    realised: Decimal
    unrealised: Decimal
    open_quantity: int
    mark: Mark | None

    @property
    def gross(self) -> Decimal:
        """Realised plus unrealised, before charges."""
        return self.realised + self.unrealised


def pnl(
    fills: Iterable[Fill],
    method: PnlMethod,
    start: date,
    end: date,
    group: Callable[[Fill], K],
    marks: MarkLookup,
) -> dict[K, PnlFigures]:
    """Return each group's realised P&L of the trade dates ``start``..``end`` (inclusive) and the
    unrealised P&L of what is open at the end of ``end``; groups with neither are left out."""
    if start > end:
        raise ValueError(f"a P&L range from {start} to {end}")
    if method is PnlMethod.FIFO:
        return _fifo(fills, start, end, group, marks)
    return _average(fills, start, end, group, marks)


def average_run(end: date, group: Callable[[Fill], K], start: date) -> TallyRun[K]:
    """A resumable run of the ``AVERAGE`` method over ``start``..``end`` (``average_pnl``)."""
    return TallyRun(end, group, carries_cnc=True, bank_from=start)


def _average(
    fills: Iterable[Fill], start: date, end: date, group: Callable[[Fill], K], marks: MarkLookup
) -> dict[K, PnlFigures]:
    tallies = tally_fills(fills, end, group, carries_cnc=True, bank_from=start)
    return average_pnl(tallies, start, marks)


def average_pnl(tallies: dict[K, Tally], start: date, marks: MarkLookup) -> dict[K, PnlFigures]:
    """The ``AVERAGE`` figures of tallies run (``average_run``) over a range from ``start``."""
    book = MarkBook(marks, tallies.values())
    return {
        key: _average_figures(tally, book)
        for key, tally in tallies.items()
        if tally.traded_on >= start or tally.quantity
    }


def _average_figures(tally: Tally, book: MarkBook) -> PnlFigures:
    """The banked days plus the last day, whose figures are its ``net`` view's."""
    totals = tally.totals(tally.overnight_quantity)
    realised = totals.realised()
    quantity = tally.quantity
    if not quantity:
        return PnlFigures(tally.banked + realised, ZERO, 0, None)
    mark = book.of(tally.exchange, tally.tradingsymbol)
    unrealised = totals.value + quantity * mark.last_price - realised
    return PnlFigures(tally.banked + realised, unrealised, quantity, mark)


@dataclass(slots=True)
class Lots:
    """A group's open tax lots, oldest first, all long or all short (``open_quantity``'s sign).

    ``realised`` sums the closing trades dated in the range; ``last_price`` / ``last_index``
    are the group's latest fill (in time order).
    """

    exchange: str
    tradingsymbol: str
    traded_on: date
    quantities: deque[int] = field(default_factory=deque)
    prices: deque[Decimal] = field(default_factory=deque)
    open_quantity: int = 0
    realised: Decimal = ZERO
    last_price: Decimal = ZERO
    last_index: int = -1

    def add(self, is_buy: bool, quantity: int, price: Decimal, banks: bool) -> None:
        """Close the oldest lots of the other side, then open a lot with what is left."""
        if self.open_quantity and (self.open_quantity > 0) is not is_buy:
            quantity = self._close(is_buy, quantity, price, banks)
        if quantity:
            self.quantities.append(quantity)
            self.prices.append(price)
            self.open_quantity += quantity if is_buy else -quantity

    def _close(self, is_buy: bool, quantity: int, price: Decimal, banks: bool) -> int:
        """Match ``quantity`` first in, first out; return what is left over."""
        quantities, prices = self.quantities, self.prices
        while quantity and quantities:
            lot = quantities[0]
            matched = min(lot, quantity)
            if banks:
                spread = prices[0] - price if is_buy else price - prices[0]
                self.realised += matched * spread
            if matched == lot:
                quantities.popleft()
                prices.popleft()
            else:
                quantities[0] = lot - matched
            quantity -= matched
            self.open_quantity += matched if is_buy else -matched
        return quantity

    def unrealised(self, last_price: Decimal) -> Decimal:
        cost = sum(map(Decimal.__mul__, self.prices, self.quantities), ZERO)
        signed = cost if self.open_quantity > 0 else -cost
        return self.open_quantity * last_price - signed


def _fifo(
    fills: Iterable[Fill], start: date, end: date, group: Callable[[Fill], K], marks: MarkLookup
) -> dict[K, PnlFigures]:
    groups = _lots(fills, start, end, group)
    book = MarkBook(marks, groups.values())
    return {
        key: _fifo_figures(lots, book)
        for key, lots in groups.items()
        if lots.traded_on >= start or lots.open_quantity
    }


def _lots(
    fills: Iterable[Fill], start: date, end: date, group: Callable[[Fill], K]
) -> dict[K, Lots]:
    """Run the fills dated up to ``end`` (in time order) into each group's lots."""
    groups: dict[K, Lots] = {}
    for index, (on, fill) in enumerate(dated(fills, end)):
        report = fill.report
        lots = groups.get(key := group(fill))
        if lots is None:
            lots = groups[key] = Lots(report.exchange, report.tradingsymbol, on)
        is_buy = report.transaction_type == BUY
        lots.add(is_buy, report.quantity, report.price, on >= start)
        lots.traded_on, lots.last_price, lots.last_index = on, report.price, index
    return groups


def _fifo_figures(lots: Lots, book: MarkBook) -> PnlFigures:
    if not lots.open_quantity:
        return PnlFigures(lots.realised, ZERO, 0, None)
    mark = book.of(lots.exchange, lots.tradingsymbol)
    return PnlFigures(lots.realised, lots.unrealised(mark.last_price), lots.open_quantity, mark)
