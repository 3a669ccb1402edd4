"""Each user's money, positions and holdings, moved only by fills, margin blocks and rollovers.

Margin is deliberately simple: an order that adds exposure blocks `value * rate` of cash while
it is working; an order that only reduces a position blocks nothing. Rates: 0.2 for MIS/CO;
for carried F&O (NRML) 0.15 of the notional (a stand-in for SPAN + exposure; an option sale's
notional is strike * quantity) and the full premium for an option purchase; 1 for CNC/MTF.
A fill releases the block and moves cash by the full traded value (debit on BUY, credit on
SELL), so leverage applies to the entry check only.

At the trading-day rollover a CNC position settles into holdings (T1 first, settled a day
later; a CNC sale takes from holdings); every other open position is carried as overnight
quantity at its average price, and flat ones are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .errors import InputError, MarginError
from .instruments import Instrument
from .kite_enums import INTRADAY_PRODUCTS, Product

ZERO = Decimal(0)
INTRADAY_RATE = Decimal("0.2")
DERIVATIVE_RATE = Decimal("0.15")
# Conversions Kite offers: intraday to delivery for stocks, intraday to carry for F&O.
CONVERSIONS = {
    True: frozenset({frozenset({Product.MIS, Product.CNC}), frozenset({Product.MIS, Product.MTF})}),
    False: frozenset({frozenset({Product.MIS, Product.NRML})}),
}


@dataclass(slots=True)
class Position:
    """One instrument and product: today's buys and sells on top of a carried quantity."""

    instrument: Instrument
    product: str
    buy_quantity: int = 0
    buy_value: Decimal = ZERO
    sell_quantity: int = 0
    sell_value: Decimal = ZERO
    overnight_quantity: int = 0
    overnight_price: Decimal = ZERO

    @property
    def quantity(self) -> int:
        return self.overnight_quantity + self.buy_quantity - self.sell_quantity

    @property
    def day_quantity(self) -> int:
        return self.buy_quantity - self.sell_quantity

    def add(self, is_buy: bool, quantity: int, price: Decimal) -> None:
        if is_buy:
            self.buy_quantity += quantity
            self.buy_value += quantity * price
        else:
            self.sell_quantity += quantity
            self.sell_value += quantity * price

    def average_price(self) -> Decimal:
        """Average price of the open side, overnight quantity included."""
        long = self.overnight_quantity if self.overnight_quantity > 0 else 0
        short = -self.overnight_quantity if self.overnight_quantity < 0 else 0
        if self.quantity > 0:
            return _average(self.buy_value + long * self.overnight_price, self.buy_quantity + long)
        if self.quantity < 0:
            value = self.sell_value + short * self.overnight_price
            return _average(value, self.sell_quantity + short)
        return ZERO

    def take(self, is_buy: bool, quantity: int, overnight: bool) -> Decimal:
        """Remove `quantity` of one side (today's or the carried one); return its price."""
        if overnight:
            carried = self.overnight_quantity if is_buy else -self.overnight_quantity
            if not 0 < quantity <= carried:
                raise InputError("Quantity to convert exceeds the open overnight quantity.")
            self.overnight_quantity += -quantity if is_buy else quantity
            return self.overnight_price
        held = self.buy_quantity if is_buy else self.sell_quantity
        if not 0 < quantity <= held:
            raise InputError("Quantity to convert exceeds the open day quantity.")
        value = self.buy_value if is_buy else self.sell_value
        price = value / held
        self.add(is_buy, -quantity, price)
        return price

    def carried(self) -> Position:
        """Tomorrow's position: the open quantity at today's average, no day trades."""
        return Position(
            self.instrument,
            self.product,
            overnight_quantity=self.quantity,
            overnight_price=self.average_price(),
        )


@dataclass(slots=True)
class Holding:
    """Delivered shares: `t1_quantity` bought the last trading day, settled a day later."""

    instrument: Instrument
    quantity: int = 0
    t1_quantity: int = 0
    average_price: Decimal = ZERO

    @property
    def total(self) -> int:
        return self.quantity + self.t1_quantity

    def receive(self, quantity: int, price: Decimal) -> None:
        value = self.total * self.average_price + quantity * price
        self.t1_quantity += quantity
        self.average_price = _average(value, self.total)

    def deliver(self, quantity: int) -> None:
        """Give up sold shares, settled ones first."""
        from_settled = min(quantity, self.quantity)
        self.quantity -= from_settled
        self.t1_quantity -= quantity - from_settled

    def settle(self) -> None:
        self.quantity += self.t1_quantity
        self.t1_quantity = 0


@dataclass(slots=True)
class Account:
    """Cash, blocked margin, positions and holdings of one user.

    Every change goes through a method, which moves `revision` for the journal to notice.
    """

    user_id: str
    opening_balance: Decimal
    cash: Decimal = ZERO
    blocked: Decimal = ZERO
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    revision: int = field(default=0, compare=False)

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

    def sellable(self, instrument: Instrument) -> int:
        """Shares a CNC sale may deliver: holdings plus today's net delivery buys."""
        holding = self.holdings.get(instrument.key)
        held = holding.total if holding is not None else 0
        today = self.positions.get((instrument.key, Product.CNC))
        return held + (today.quantity if today is not None else 0)

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
        if product == Product.CNC and not is_buy:
            return ZERO  # a delivery sale is covered by holdings, checked separately
        notional, rate = exposure(instrument, product, is_buy, price)
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
        self.revision += 1

    def release(self, amount: Decimal) -> None:
        self.blocked = max(ZERO, self.blocked - amount)
        self.revision += 1

    def apply_fill(
        self, instrument: Instrument, product: str, is_buy: bool, quantity: int, price: Decimal
    ) -> None:
        self.position(instrument, product).add(is_buy, quantity, price)
        value = quantity * price
        self.cash += -value if is_buy else value
        self.revision += 1

    def convert(
        self,
        instrument: Instrument,
        products: tuple[str, str],
        is_buy: bool,
        quantity: int,
        overnight: bool,
    ) -> None:
        """Move part of a position to another product at its average price."""
        old, new = products
        if frozenset(products) not in CONVERSIONS[instrument.is_equity]:
            raise InputError(f"Positions cannot be converted from {old} to {new}.")
        source = self.positions.get((instrument.key, old))
        if source is None:
            raise InputError("There is no such position to convert.")
        price = source.take(is_buy, quantity, overnight)
        self.position(instrument, new).add(is_buy, quantity, price)
        self.revision += 1

    def roll_over(self) -> None:
        """Start a new trading day: settle T1, deliver CNC, carry the other open positions."""
        self.revision += 1
        for holding in self.holdings.values():
            holding.settle()
        for key, position in list(self.positions.items()):
            del self.positions[key]
            if position.product == Product.CNC:
                self._deliver(position)
            elif position.quantity:
                self.positions[key] = position.carried()
        self.holdings = {key: item for key, item in self.holdings.items() if item.total > 0}

    def _deliver(self, position: Position) -> None:
        key = position.instrument.key
        holding = self.holdings.setdefault(key, Holding(position.instrument))
        if position.quantity > 0:
            holding.receive(position.quantity, position.average_price())
        elif position.quantity < 0:
            holding.deliver(-position.quantity)


def exposure(
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


def _average(value: Decimal, quantity: int) -> Decimal:
    return value / quantity if quantity else ZERO
