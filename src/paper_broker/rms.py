"""The RMS checks that refuse an order after it was accepted, in Kite's words."""

from __future__ import annotations

from decimal import Decimal

from .books import Account
from .errors import HoldingError
from .kite_enums import PRICED_TYPES, STOP_TYPES, Product
from .orders import Order
from .prices import PriceWalk
from .validation import PlaceRequest

CIRCUIT_RULE = "RMS:Rule: Check circuit limit including square off order exceeds"


def circuit_breach(
    order_type: str, price: Decimal, trigger: Decimal, walk: PriceWalk
) -> str | None:
    """Kite's message when a price or trigger lies outside the day's circuit band, else None."""
    checks = []
    if order_type in PRICED_TYPES:
        checks.append(("price", price))
    if order_type in STOP_TYPES:
        checks.append(("trigger price", trigger))
    for name, value in checks:
        ticks = value / walk.tick
        if ticks > walk.upper:
            return _message(name, "higher", "upper", walk.upper * walk.tick)
        if ticks < walk.lower:
            return _message(name, "lower", "lower", walk.lower * walk.tick)
    return None


def circuit_rejection(order: Order, walk: PriceWalk) -> str | None:
    state = order.state
    return circuit_breach(state.order_type, state.price, state.trigger_price, walk)


def _message(name: str, relation: str, side: str, limit: Decimal) -> str:
    return (
        f"Your order {name} is {relation} than the current {side} circuit limit of {limit}. "
        "Place an order within the daily range."
    )


def check_holdings(account: Account, request: PlaceRequest, waiting: list[Order]) -> None:
    """Refuse a delivery sale beyond holdings, today's delivery buys and pending sales."""
    instrument = request.instrument
    available = account.sellable(instrument)
    for order in waiting:
        if order.user_id == account.user_id and order.product == Product.CNC and not order.is_buy:
            available -= order.outstanding_quantity
    available = max(available, 0)
    if request.terms.quantity > available:
        raise HoldingError(
            f"Insufficient holdings. You can sell at most {available} {instrument.tradingsymbol} "
            "(holdings and today's delivery buys, less pending sell orders)."
        )
