"""Each user's money and positions, moved only by fills and margin blocks.

Margin is deliberately simple: an order that adds exposure blocks `value * rate` of cash while
it is working; an order that only reduces a position blocks nothing. Rates: 0.2 for MIS/CO;
for carried F&O (NRML) 0.15 of the notional (a stand-in for SPAN + exposure; an option sale's
notional is strike * quantity) and the full premium for an option purchase; 1 for CNC/MTF.
A fill releases the block and moves cash by the full traded value (debit on BUY, credit on
SELL), so leverage applies to the entry check only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .errors import MarginError
from .instruments import Instrument

ZERO = Decimal(0)
INTRADAY_RATE = Decimal("0.2")
DERIVATIVE_RATE = Decimal("0.15")
INTRADAY_PRODUCTS = frozenset({"MIS", "CO"})


@dataclass(slots=True)
class Position:
    """Buy and sell totals of one instrument and product; all of them are day positions."""

    instrument: Instrument
    product: str
    buy_quantity: int = 0
    buy_value: Decimal = ZERO
    sell_quantity: int = 0
    sell_value: Decimal = ZERO

    @property
    def quantity(self) -> int:
        return self.buy_quantity - self.sell_quantity

    def add(self, is_buy: bool, quantity: int, price: Decimal) -> None:
        if is_buy:
            self.buy_quantity += quantity
            self.buy_value += quantity * price
        else:
            self.sell_quantity += quantity
            self.sell_value += quantity * price


@dataclass(slots=True)
class Account:
    """Cash, blocked margin and positions of one user."""

    user_id: str
    opening_balance: Decimal
    cash: Decimal = ZERO
    blocked: Decimal = ZERO
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cash:
            self.cash = self.opening_balance

    @property
    def available(self) -> Decimal:
        return self.cash - self.blocked

    def position(self, instrument: Instrument, product: str) -> Position:
        key = (instrument.key, product)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(instrument, product)
        return position

    def required_margin(
        self, instrument: Instrument, product: str, is_buy: bool, quantity: int, price: Decimal
    ) -> Decimal:
        """Margin an order needs; zero when it only reduces an existing position."""
        held = self.positions.get((instrument.key, product))
        net = held.quantity if held is not None else 0
        if (net > 0 and not is_buy and quantity <= net) or (
            net < 0 and is_buy and quantity <= -net
        ):
            return ZERO
        notional, rate = _exposure(instrument, product, is_buy, price)
        return (quantity * notional * rate).quantize(Decimal("0.01"))

    def block(self, amount: Decimal) -> None:
        """Reserve margin, or refuse the way Kite's RMS does."""
        self.reblock(ZERO, amount)

    def reblock(self, old: Decimal, new: Decimal) -> None:
        """Swap a block for another one, all or nothing."""
        available = self.available + old
        if new > available:
            raise MarginError(
                f"Insufficient funds. Required margin is {new:.2f} "
                f"but available margin is {available:.2f}."
            )
        self.blocked += new - old

    def release(self, amount: Decimal) -> None:
        self.blocked = max(ZERO, self.blocked - amount)

    def apply_fill(
        self, instrument: Instrument, product: str, is_buy: bool, quantity: int, price: Decimal
    ) -> None:
        self.position(instrument, product).add(is_buy, quantity, price)
        value = quantity * price
        self.cash += -value if is_buy else value


def _exposure(
    instrument: Instrument, product: str, is_buy: bool, price: Decimal
) -> tuple[Decimal, Decimal]:
    """(notional per unit, margin rate) of a new exposure."""
    if product in INTRADAY_PRODUCTS:
        return price, INTRADAY_RATE
    if instrument.is_equity:
        return price, Decimal(1)
    if instrument.instrument_type in {"CE", "PE"}:
        return (price, Decimal(1)) if is_buy else (instrument.strike, DERIVATIVE_RATE)
    return price, DERIVATIVE_RATE
