"""When a working order trades or triggers against a price, and the per-instrument book of them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from .orders import OPEN, TRIGGER_PENDING, Order
from .prices import NEVER_ABOVE, NEVER_BELOW


def to_ticks(price: Decimal, tick_size: Decimal) -> int:
    return int(price / tick_size) if tick_size else int(price * 20)


def is_marketable(order: Order, ticks: int) -> bool:
    """An OPEN order trades now: MARKET always; a BUY LIMIT at or below, a SELL at or above."""
    state = order.state
    if state.order_type in {"MARKET", "SL-M"}:
        return True
    limit = to_ticks(state.price, order.instrument.tick_size)
    return ticks <= limit if order.is_buy else ticks >= limit


def is_triggered(order: Order, ticks: int) -> bool:
    """A stop triggers when the price reaches it: upwards for a BUY, downwards for a SELL."""
    trigger = to_ticks(order.state.trigger_price, order.instrument.tick_size)
    return ticks >= trigger if order.is_buy else ticks <= trigger


def thresholds(order: Order) -> tuple[int, int]:
    """The (low, high) prices in ticks at which a resting order needs attention."""
    state = order.state
    tick = order.instrument.tick_size
    if state.status == TRIGGER_PENDING:
        trigger = to_ticks(state.trigger_price, tick)
        return (NEVER_BELOW, trigger) if order.is_buy else (trigger, NEVER_ABOVE)
    if state.status == OPEN and state.order_type in {"LIMIT", "SL"}:
        limit = to_ticks(state.price, tick)
        return (limit, NEVER_ABOVE) if order.is_buy else (NEVER_BELOW, limit)
    return NEVER_BELOW, NEVER_ABOVE


class Book:
    """Resting orders of one instrument; the price walk consults `low`/`high` on every step."""

    __slots__ = ("high", "low", "on_fire", "orders", "token")

    def __init__(self, token: int, on_fire: Callable[[Book, int, int], None]) -> None:
        self.token = token
        self.orders: dict[str, Order] = {}
        self.on_fire = on_fire
        self.low = NEVER_BELOW
        self.high = NEVER_ABOVE

    def add(self, order: Order) -> None:
        self.orders[order.order_id] = order
        low, high = thresholds(order)
        self.low = max(self.low, low)
        self.high = min(self.high, high)

    def remove(self, order_id: str) -> None:
        if self.orders.pop(order_id, None) is not None:
            self.refresh()

    def refresh(self) -> None:
        self.low, self.high = NEVER_BELOW, NEVER_ABOVE
        for order in self.orders.values():
            low, high = thresholds(order)
            self.low = max(self.low, low)
            self.high = min(self.high, high)

    def fire(self, ticks: int, second: int) -> None:
        self.on_fire(self, ticks, second)

    def due(self, ticks: int) -> list[Order]:
        """Orders the price `ticks` reaches, in time priority."""
        return [order for order in self.orders.values() if _reached(order, ticks)]


def _reached(order: Order, ticks: int) -> bool:
    if order.state.status == TRIGGER_PENDING:
        return is_triggered(order, ticks)
    return is_marketable(order, ticks)
