"""The trading-day rollover at midnight IST: expire day orders, settle books, start a new day.

Kite's order book and trade book hold one day: at the rollover every working DAY/TTL order is
cancelled (the exchange expires it), then finished orders and the day's trades are forgotten.
AMOs waiting for the next session and GTT triggers survive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .orders import WORKING

if TYPE_CHECKING:
    from .engine import Exchange

DAY_EXPIRED = "Order expired at the end of the trading day."


def roll_over(exchange: Exchange, second: int) -> None:
    """Close trading day ending at `second` and open the next."""
    execution = exchange.execution
    live = [order for book in execution.books.values() for order in book.orders.values()]
    for order in live:
        execution.cancel(order, second, DAY_EXPIRED)
    registry = exchange.registry
    for account in registry.accounts.values():
        account.roll_over()
    kept = {order_id for order_id, order in registry.orders.items() if order.status in WORKING}
    registry.orders = {order_id: registry.orders[order_id] for order_id in kept}
    for user_id, book in registry.user_orders.items():
        registry.user_orders[user_id] = {oid: o for oid, o in book.items() if oid in kept}
    for user_id in registry.trades:
        registry.trades[user_id] = []
    registry.order_trades.clear()
