"""Where orders, trades and accounts live, indexed by id and by user."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .books import Account
from .errors import InputError
from .gtt_records import Trigger
from .ids import IdFactory
from .orders import WORKING, Order, Trade

UNKNOWN_ORDER = "Couldn't find that `order_id`."


@dataclass
class Registry:
    ids: IdFactory = field(default_factory=IdFactory)
    accounts: dict[str, Account] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    user_orders: dict[str, dict[str, Order]] = field(default_factory=dict)
    trades: dict[str, list[Trade]] = field(default_factory=dict)
    order_trades: dict[str, list[Trade]] = field(default_factory=dict)
    triggers: dict[int, Trigger] = field(default_factory=dict)

    def open_account(self, user_id: str, funds: Decimal) -> Account:
        account = self.accounts[user_id] = Account(user_id, funds)
        self.user_orders.setdefault(user_id, {})
        self.trades.setdefault(user_id, [])
        return account

    def add_order(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self.user_orders[order.user_id][order.order_id] = order

    def add_trade(self, trade: Trade) -> None:
        self.trades[trade.user_id].append(trade)
        self.order_trades.setdefault(trade.order_id, []).append(trade)

    def order(self, user_id: str, order_id: str) -> Order:
        """One of the user's orders; another user's order is as unknown as a missing one."""
        order = self.user_orders.get(user_id, {}).get(order_id)
        if order is None:
            raise InputError(UNKNOWN_ORDER)
        return order

    def roll_over(self) -> None:
        """Start a new trading day: accounts settle, finished orders and the day's trades go.

        The orders table is a new dict: one of the ways the journal tells a new day (changes.py).
        """
        for account in self.accounts.values():
            account.roll_over()
        kept = {order_id for order_id, order in self.orders.items() if order.status in WORKING}
        self.orders = {order_id: self.orders[order_id] for order_id in kept}
        for user_id, book in self.user_orders.items():
            self.user_orders[user_id] = {oid: o for oid, o in book.items() if oid in kept}
        for user_id in self.trades:
            self.trades[user_id] = []
        self.order_trades.clear()
