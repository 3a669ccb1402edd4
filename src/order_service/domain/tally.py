"""One group's running position: today's buys and sells on top of a carried quantity.

The arithmetic is the broker's, operation for operation (``Decimal`` in the default context):
a carried long counts as bought at its carried price and a short as sold, averages are value
over quantity, realised is the matched quantity times the spread of the two averages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from order_service.domain.reports import FillReport
from order_service.domain.values import Product, TransactionType

ZERO = Decimal(0)
BUY = TransactionType.BUY  # a module constant: an enum member's class lookup is slow


class Totals(NamedTuple):
    """Buy and sell totals of a day, the carried quantity included."""

    buy_quantity: int
    buy_value: Decimal
    sell_quantity: int
    sell_value: Decimal

    @property
    def buys(self) -> tuple[int, Decimal]:
        return self.buy_quantity, self.buy_value

    @property
    def sells(self) -> tuple[int, Decimal]:
        return self.sell_quantity, self.sell_value

    @property
    def value(self) -> Decimal:
        return self.sell_value - self.buy_value

    def realised(self) -> Decimal:
        """Matched quantity times the spread of the sell and buy averages."""
        matched = min(self.buy_quantity, self.sell_quantity)
        if not matched:
            return ZERO
        spread = self.sell_value / self.sell_quantity - self.buy_value / self.buy_quantity
        return matched * spread

    def open_average(self, quantity: int) -> Decimal:
        """The average price of the open side (of ``quantity``, long or short)."""
        if quantity > 0:
            return self.buy_value / self.buy_quantity
        if quantity < 0:
            return self.sell_value / self.sell_quantity
        return ZERO


@dataclass(slots=True)
class Tally:
    """A group's position on ``day``; ``banked`` holds the realised of closed days from
    ``bank_from`` on, and ``last_price`` / ``last_index`` its latest fill (in time order)."""

    exchange: str
    tradingsymbol: str
    product: str
    day: date
    bank_from: date
    traded_on: date
    buy_quantity: int = 0
    buy_value: Decimal = ZERO
    sell_quantity: int = 0
    sell_value: Decimal = ZERO
    overnight_quantity: int = 0
    overnight_price: Decimal = ZERO
    banked: Decimal = ZERO
    last_price: Decimal = ZERO
    last_index: int = -1

    @property
    def day_quantity(self) -> int:
        return self.buy_quantity - self.sell_quantity

    @property
    def quantity(self) -> int:
        return self.overnight_quantity + self.buy_quantity - self.sell_quantity

    @property
    def day_value(self) -> Decimal:
        return self.sell_value - self.buy_value

    def add(self, report: FillReport, index: int) -> None:
        quantity, price = report.quantity, report.price
        if report.transaction_type == BUY:
            self.buy_quantity += quantity
            self.buy_value += quantity * price
        else:
            self.sell_quantity += quantity
            self.sell_value += quantity * price
        self.last_price, self.last_index = price, index

    def totals(self, overnight: int) -> Totals:
        """Today's totals with ``overnight`` (0 or the carried quantity) counted in."""
        carried = abs(overnight) * self.overnight_price
        return Totals(
            self.buy_quantity + max(overnight, 0),
            self.buy_value + (carried if overnight > 0 else ZERO),
            self.sell_quantity + max(-overnight, 0),
            self.sell_value + (carried if overnight < 0 else ZERO),
        )

    def roll(self, on: date, carries_cnc: bool) -> None:
        """Open day ``on`` as the midnight rollovers since ``day`` do: carry, forget the day."""
        if self.day >= self.bank_from:
            self.banked += self.totals(self.overnight_quantity).realised()
        quantity = self.quantity
        if quantity and (carries_cnc or self.product != Product.CNC):
            price = self._open_average(quantity)
            self.overnight_price = _carried(price, abs(quantity), (on - self.day).days - 1)
        else:
            quantity, self.overnight_price = 0, ZERO
        self.overnight_quantity = quantity
        self.buy_quantity = self.sell_quantity = 0
        self.buy_value = self.sell_value = ZERO
        self.day = on

    def _open_average(self, quantity: int) -> Decimal:
        """The open side's average, in the broker's own operations: its digits (not only its
        value) show in every later figure of a carried position."""
        overnight = self.overnight_quantity
        if quantity > 0:
            long = max(overnight, 0)
            return (self.buy_value + long * self.overnight_price) / (self.buy_quantity + long)
        short = max(-overnight, 0)
        return (self.sell_value + short * self.overnight_price) / (self.sell_quantity + short)


def _carried(price: Decimal, held: int, idle_days: int) -> Decimal:
    """The carried price after ``idle_days`` more rollovers without a trade.

    Each re-averages the carried value (``held * price / held``), which can move the last
    digit of a price that used all 28; it settles after a step or two.
    """
    for _ in range(idle_days):
        again = (ZERO + held * price) / held
        if again.as_tuple() == price.as_tuple():
            break  # the digits, not only the value: they show in every later figure
        price = again
    return price
