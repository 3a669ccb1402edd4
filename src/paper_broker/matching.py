"""When a working order trades or triggers against a price, and the per-instrument book of them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from .kite_enums import MARKET_TYPES, PRICED_TYPES
from .orders import OPEN, TRIGGER_PENDING, Order
from .prices import NEVER_ABOVE, NEVER_BELOW


class Watched(Protocol):
    """Anything else a book watches the price for (GTT triggers)."""

    @property
    def watch_id(self) -> int: ...

    def thresholds(self) -> tuple[int, int]: ...


def to_ticks(price: Decimal, tick_size: Decimal) -> int:
    return int(price / tick_size) if tick_size else int(price * 20)


def is_marketable(order: Order, ticks: int) -> bool:
    """An OPEN order trades now: MARKET always; a BUY LIMIT at or below, a SELL at or above."""
    state = order.state
    if state.order_type in MARKET_TYPES:
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
    if state.status == OPEN and state.order_type in PRICED_TYPES:
        limit = to_ticks(state.price, tick)
        return (limit, NEVER_ABOVE) if order.is_buy else (NEVER_BELOW, limit)
    if state.status == OPEN and state.order_type in MARKET_TYPES:
        # A partly filled market order trades again on every step until it is done.
        return NEVER_ABOVE, NEVER_BELOW
    return NEVER_BELOW, NEVER_ABOVE


class Book:
    """Resting orders and triggers of one instrument; the walk consults `low`/`high` each step."""

    __slots__ = ("high", "low", "on_fire", "orders", "token", "triggers")

    def __init__(self, token: int, on_fire: Callable[[Book, int, int], None]) -> None:
        self.token = token
        self.orders: dict[str, Order] = {}
        self.triggers: dict[int, Watched] = {}
        self.on_fire = on_fire
        self.low = NEVER_BELOW
        self.high = NEVER_ABOVE

    @property
    def is_empty(self) -> bool:
        return not self.orders and not self.triggers

    def add(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self._widen(*thresholds(order))

    def watch(self, item: Watched) -> None:
        self.triggers[item.watch_id] = item
        self._widen(*item.thresholds())

    def _widen(self, low: int, high: int) -> None:
        self.low = max(self.low, low)
        self.high = min(self.high, high)

    def remove(self, order_id: str) -> None:
        if self.orders.pop(order_id, None) is not None:
            self.refresh()

    def unwatch(self, watch_id: int) -> None:
        if self.triggers.pop(watch_id, None) is not None:
            self.refresh()

    def refresh(self) -> None:
        self.low, self.high = NEVER_BELOW, NEVER_ABOVE
        for order in self.orders.values():
            self._widen(*thresholds(order))
        for item in self.triggers.values():
            self._widen(*item.thresholds())

    def fire(self, ticks: int, second: int) -> None:
        self.on_fire(self, ticks, second)

    def due(self, ticks: int) -> list[Order]:
        """Orders the price `ticks` reaches, in time priority."""
        return [order for order in self.orders.values() if _reached(order, ticks)]

    def due_triggers(self, ticks: int) -> list[Watched]:
        return [item for item in self.triggers.values() if _crossed(item.thresholds(), ticks)]


def _crossed(bounds: tuple[int, int], ticks: int) -> bool:
    low, high = bounds
    return ticks <= low or ticks >= high


def _reached(order: Order, ticks: int) -> bool:
    if order.state.status == TRIGGER_PENDING:
        return is_triggered(order, ticks)
    return is_marketable(order, ticks)
