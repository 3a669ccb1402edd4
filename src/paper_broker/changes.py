"""What changed in a paper broker since the journal last looked, as records to append.

No mutation reports itself: the tracker compares what can have changed since its last look,
which keeps a commit to a few comparisons and the encoding of what did change.

- Orders: a new order is at the tail of the registry (its dicts keep insertion order); an old
  one changes only while it is live (not terminal), and every change appends to its history,
  so a longer history is a changed order.
- Trades never change and are appended to each user's list; GTT triggers change only while
  active (a modification swaps the object, the other changes move its status).
- Accounts and the users and sessions tables move a `revision` with every change; an account is
  written whole with its positions, the tables too (they are small).
- A new trading day (the rollover forgets finished orders) or a reset broker cannot be told as
  changes: `is_stale` says so and the journal writes a snapshot instead.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import islice
from typing import Any

from .broker import PaperBroker
from .gtt_records import ACTIVE, Trigger
from .orders import TERMINAL, Order, Trade
from .persistence import account_record, common_records, sessions_records
from .registry import Registry


class Tracker:
    """The broker as the journal last wrote it, reduced to what tells a change."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker
        registry = broker.exchange.registry
        self._orders = registry.orders
        self._order_count = len(registry.orders)
        self._live = {o.order_id: (o, len(o.history)) for o in self._orders.values() if _live(o)}
        self._trade_counts = {user_id: len(own) for user_id, own in registry.trades.items()}
        self._trigger_count = len(registry.triggers)
        self._active = {
            t.trigger_id: (t, t.status) for t in registry.triggers.values() if t.status == ACTIVE
        }
        self._revision = broker.sessions.revision
        self._accounts = {
            user_id: account.revision for user_id, account in registry.accounts.items()
        }
        self._ids = replace(registry.ids)
        self._offset = broker.clock.offset_seconds
        self._day_end = broker.exchange.schedule.day_end

    def is_stale(self, broker: PaperBroker) -> bool:
        """Whether `broker` has moved in a way only a snapshot can record."""
        return (
            broker is not self.broker
            or broker.exchange.registry.orders is not self._orders
            or broker.exchange.schedule.day_end != self._day_end
        )

    def changes(self, force: bool = False) -> dict[str, Any] | None:
        """The records that changed since the last call, or None when nothing did."""
        registry = self.broker.exchange.registry
        record: dict[str, Any] = {}
        if self._revision != self.broker.sessions.revision:
            self._revision = self.broker.sessions.revision
            record.update(sessions_records(self.broker))
        _put(record, "orders", self._orders_changed(registry))
        _put(record, "trades", self._new_trades(registry))
        _put(record, "triggers", self._triggers_changed(registry))
        _put(record, "accounts", self._accounts_changed(registry))
        moved = self._counters_moved()
        if not (record or force or moved):
            return None
        record.update(common_records(self.broker))
        return record

    def _orders_changed(self, registry: Registry) -> list[Order]:
        changed = [order for order, seen in self._live.values() if len(order.history) != seen]
        changed += _tail(registry.orders, self._order_count)
        self._order_count = len(registry.orders)
        for order in changed:
            if _live(order):
                self._live[order.order_id] = (order, len(order.history))
            else:
                self._live.pop(order.order_id, None)
        return changed

    def _new_trades(self, registry: Registry) -> list[Trade]:
        fresh: list[Trade] = []
        for user_id, own in registry.trades.items():
            seen = self._trade_counts.get(user_id, 0)
            if len(own) != seen:
                fresh += own[seen:]
                self._trade_counts[user_id] = len(own)
        return fresh

    def _triggers_changed(self, registry: Registry) -> list[Trigger]:
        triggers = registry.triggers
        changed = [
            triggers[trigger_id]
            for trigger_id, (trigger, status) in self._active.items()
            if triggers[trigger_id] is not trigger or trigger.status != status
        ]
        changed += _tail(triggers, self._trigger_count)
        self._trigger_count = len(triggers)
        for trigger in changed:
            if trigger.status == ACTIVE:
                self._active[trigger.trigger_id] = (trigger, trigger.status)
            else:
                self._active.pop(trigger.trigger_id, None)
        return changed

    def _accounts_changed(self, registry: Registry) -> list[dict[str, Any]]:
        changed = []
        for user_id, account in registry.accounts.items():
            if self._accounts.get(user_id) != account.revision:
                self._accounts[user_id] = account.revision
                changed.append(account_record(account))
        return changed

    def _counters_moved(self) -> bool:
        ids, offset = self.broker.exchange.registry.ids, self.broker.clock.offset_seconds
        if ids == self._ids and offset == self._offset:
            return False
        self._ids, self._offset = replace(ids), offset
        return True


def _live(order: Order) -> bool:
    return order.status not in TERMINAL


def _tail(items: dict[Any, Any], seen: int) -> list[Any]:
    """The values added to `items` after its first `seen` (dicts keep insertion order)."""
    fresh = list(islice(reversed(items.values()), len(items) - seen))
    fresh.reverse()
    return fresh


def _put(record: dict[str, Any], name: str, items: list[Any]) -> None:
    if items:
        record[name] = items
