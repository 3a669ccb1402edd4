"""Margin calculations for /margins/orders and /margins/basket, on the books' margin model.

The margin of an order is the block `books.Account.required_margin` would take, split the way
Kite reports it: stocks as VaR, option purchases as premium, futures and option sales as SPAN
(11/15 of it) plus exposure (4/15). A basket's `final` margin gives a hedge benefit: for each
F&O underlying only the larger of the long-side and the short-side SPAN counts (with
`consider_positions`, open positions join the sides and `final` is what the basket adds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .books import ZERO, Account, Position
from .charges import add_charges, order_charges
from .instruments import Instrument
from .kite_enums import INTRADAY_PRODUCTS, OrderType, TransactionType, Variety

SPAN_SHARE = Decimal(11) / Decimal(15)
COMPONENTS = ("span", "exposure", "option_premium", "additional", "bo", "cash", "var")


@dataclass(frozen=True, slots=True)
class MarginOrder:
    instrument: Instrument
    transaction_type: str
    variety: str
    product: str
    order_type: str
    quantity: int
    price: Decimal

    @property
    def is_buy(self) -> bool:
        return self.transaction_type == TransactionType.BUY

    @property
    def is_long(self) -> bool:
        """Gains when the underlying rises: futures and calls bought, puts sold."""
        return self.is_buy != (self.instrument.instrument_type == "PE")


def order_margin(account: Account, order: MarginOrder, day: date) -> dict[str, Any]:
    """Kite's margin object for one order."""
    item = order.instrument
    block = account.required_margin(item, order.product, order.is_buy, order.quantity, order.price)
    parts = dict.fromkeys(COMPONENTS, ZERO)
    if item.is_equity:
        parts["var"] = block
    elif item.instrument_type in {"CE", "PE"} and order.is_buy:
        parts["option_premium"] = block
    else:
        parts["span"] = (block * SPAN_SHARE).quantize(Decimal("0.01"))
        parts["exposure"] = block - parts["span"]
    leverage = 5 if item.is_equity and order.product in INTRADAY_PRODUCTS else 1
    return {
        "type": "equity",
        "tradingsymbol": item.tradingsymbol,
        "exchange": item.exchange,
        **parts,
        "pnl": {"realised": 0, "unrealised": 0},
        "leverage": leverage,
        "charges": order_charges(
            item, order.product, order.is_buy, order.quantity, order.price, day
        ),
        "total": block,
    }


def basket(
    account: Account, orders: list[MarginOrder], day: date, *, with_positions: bool
) -> dict[str, Any]:
    """Kite's basket margins: each order alone, all of them alone, and with the hedge benefit."""
    alone = Account(account.user_id, account.opening_balance)
    items = [order_margin(alone, order, day) for order in orders]
    pairs = list(zip(orders, items, strict=True))
    final = _netted(pairs)
    if with_positions:
        held = [_as_order(position) for position in account.positions.values()]
        held_pairs = [(order, order_margin(alone, order, day)) for order in held if order]
        final = _minus(_netted(held_pairs + pairs), _netted(held_pairs))
    return {
        "initial": _summary(items),
        "final": _summary_of(final),
        "orders": items,
        "charges": add_charges([item["charges"] for item in items]),
    }


def _netted(pairs: list[tuple[MarginOrder, dict[str, Any]]]) -> dict[str, Decimal]:
    totals = {name: sum((item[name] for _, item in pairs), ZERO) for name in COMPONENTS}
    sides: dict[tuple[str, bool], Decimal] = {}
    for order, item in pairs:
        if item["span"]:
            key = (order.instrument.underlying, order.is_long)
            sides[key] = sides.get(key, ZERO) + item["span"]
    underlyings = {underlying for underlying, _ in sides}
    totals["span"] = sum(
        (
            max(sides.get((name, True), ZERO), sides.get((name, False), ZERO))
            for name in underlyings
        ),
        ZERO,
    )
    return totals


def _minus(after: dict[str, Decimal], before: dict[str, Decimal]) -> dict[str, Decimal]:
    return {name: max(ZERO, after[name] - before[name]) for name in COMPONENTS}


def _summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    parts = {name: sum((item[name] for item in items), ZERO) for name in COMPONENTS}
    return _summary_of(parts)


def _summary_of(parts: dict[str, Decimal]) -> dict[str, Any]:
    return {
        "type": "",
        "tradingsymbol": "",
        "exchange": "",
        **parts,
        "pnl": {"realised": 0, "unrealised": 0},
        "leverage": 0,
        "charges": add_charges([]),
        "total": sum(parts.values(), ZERO),
    }


def _as_order(position: Position) -> MarginOrder | None:
    """An open F&O position as the order that would have opened it."""
    quantity = position.quantity
    if not quantity or position.instrument.is_equity:
        return None
    return MarginOrder(
        instrument=position.instrument,
        transaction_type=TransactionType.BUY if quantity > 0 else TransactionType.SELL,
        variety=Variety.REGULAR,
        product=position.product,
        order_type=OrderType.MARKET,
        quantity=abs(quantity),
        price=position.average_price(),
    )


def compact(result: dict[str, Any]) -> dict[str, Any]:
    """`mode=compact`: totals only."""

    def slim(item: dict[str, Any]) -> dict[str, Any]:
        return {key: item[key] for key in ("type", "tradingsymbol", "exchange", "total")}

    return {
        "initial": slim(result["initial"]),
        "final": slim(result["final"]),
        "orders": [slim(item) for item in result["orders"]],
        "charges": result["charges"],
    }
