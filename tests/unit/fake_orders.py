"""The fake order repository: keys, the event log and optimistic writes, as SQL keeps them."""

from __future__ import annotations

import asyncio
import builtins
import copy
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from order_service.adapters.db.engine import dumps_json
from order_service.domain.events import OrderEvent
from order_service.domain.ids import AccountId, BrokerOrderId, ClientOrderId, OrderId
from order_service.domain.order import Order
from order_service.errors import Conflict, DuplicateClientOrderId, StaleWrite
from order_service.services.ports import OrderQuery
from tests.unit.fake_store import CONFLICT, FakeRepository, FakeStore, copied


class FakeOrderRepository(FakeRepository):
    """Orders with optimistic concurrency on ``version``, their events numbered in sequence."""

    async def add(self, order: Order) -> None:
        row, events = _row(order, order.version), _stored_events(order)

        def insert(state: FakeStore) -> None:
            _check_order_keys(state, row)
            state.orders[row.order_id] = row
            _append_events(state, events)

        self._stage(insert)
        order.pending_events.clear()

    async def save(self, order: Order) -> None:
        read_version = order.version
        row, events = _row(order, read_version + 1), _stored_events(order)

        def update(state: FakeStore) -> None:
            stored = state.orders.get(row.order_id)
            if stored is None or stored.version != read_version:
                raise StaleWrite(row.order_id)
            _check_broker_order_id(state, row)
            state.orders[row.order_id] = row
            _append_events(state, events)

        self._stage(update)
        order.pending_events.clear()
        order.version += 1

    async def get(self, order_id: OrderId) -> Order | None:
        return copied(self._view().orders.get(order_id))

    async def get_by_client_order_id(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Order | None:
        found = self._find(
            lambda o: (o.account_id, o.client_order_id) == (account_id, client_order_id)
        )
        if self._unit.store.yield_on_key_read:
            await asyncio.sleep(0)  # after the read: another request may insert meanwhile
        return found

    async def with_key_prefix(
        self, account_id: AccountId, prefix: str, limit: int
    ) -> builtins.list[Order]:
        orders = sorted(self._view().orders.values(), key=lambda o: o.order_id)
        found = [
            o for o in orders if o.account_id == account_id and o.client_order_id.startswith(prefix)
        ]
        return [copy.deepcopy(o) for o in found[:limit]]

    async def get_by_broker_order_id(
        self, account_id: AccountId, broker_order_id: BrokerOrderId
    ) -> Order | None:
        return self._find(
            lambda o: (o.account_id, o.broker_order_id) == (account_id, broker_order_id)
        )

    async def get_by_tag(self, tag: str) -> Order | None:
        return self._find(lambda o: o.tag == tag)

    async def list(self, query: OrderQuery) -> list[Order]:
        """Return one page, newest first (by order id, as SQL orders it)."""
        orders = sorted(self._view().orders.values(), key=lambda o: o.order_id, reverse=True)
        return [copy.deepcopy(o) for o in orders if _matches(o, query)][: query.limit]

    async def list_unsettled(self, account_id: AccountId) -> builtins.list[Order]:
        orders = sorted(self._view().orders.values(), key=lambda o: o.order_id)
        return [
            copy.deepcopy(o) for o in orders if o.account_id == account_id and not o.is_terminal
        ]

    async def accounts_with_unsettled(self) -> builtins.list[AccountId]:
        return sorted({o.account_id for o in self._view().orders.values() if not o.is_terminal})

    async def events(self, order_id: OrderId) -> builtins.list[OrderEvent]:
        return [copy.deepcopy(e) for e in self._view().events if e.order_id == order_id]

    async def by_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> builtins.list[Order]:
        wanted = set(broker_order_ids)
        return [
            copy.deepcopy(o)
            for o in self._view().orders.values()
            if o.account_id == account_id and o.broker_order_id in wanted
        ]

    async def known_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> set[BrokerOrderId]:
        found = await self.by_broker_ids(account_id, broker_order_ids)
        return {o.broker_order_id for o in found if o.broker_order_id is not None}

    async def known_tags(self, account_id: AccountId, tags: Collection[str]) -> set[str]:
        wanted = set(tags)
        return {
            o.tag
            for o in self._view().orders.values()
            if o.account_id == account_id and o.tag is not None and o.tag in wanted
        }

    async def with_event(self, order_ids: Collection[OrderId], name: str) -> set[OrderId]:
        wanted = set(order_ids)
        return {e.order_id for e in self._view().events if e.name == name and e.order_id in wanted}

    async def save_all(self, orders: Sequence[Order]) -> builtins.list[Order]:
        lost: builtins.list[Order] = []
        for order in orders:
            stored = self._view().orders.get(order.order_id)
            if stored is None or stored.version != order.version:
                lost.append(order)
            else:
                await self.save(order)
        return lost

    async def append_events(self, orders: Sequence[Order]) -> None:
        events = [event for order in orders for event in _stored_events(order)]
        self._stage(lambda state: _append_events(state, events))
        for order in orders:
            order.pending_events.clear()

    async def add_absent(self, orders: Sequence[Order]) -> builtins.list[Order]:
        added: builtins.list[Order] = []
        for order in orders:
            if not _keys_taken(self._view(), order):
                await self.add(order)
                added.append(order)
        return added

    def _find(self, wanted: Callable[[Order], bool]) -> Order | None:
        return copied(next((o for o in self._view().orders.values() if wanted(o)), None))


def _row(order: Order, version: int) -> Order:
    """Return what a row holds of ``order``: a copy at ``version``, without pending events."""
    return replace(copy.deepcopy(order), version=version, pending_events=[])


def _stored_events(order: Order) -> list[OrderEvent]:
    # Event data is stored as JSON, with the SQL adapter's serializer: decimals come back as text.
    return [replace(e, data=json.loads(dumps_json(e.data))) for e in order.pending_events]


def _append_events(state: FakeStore, events: list[OrderEvent]) -> None:
    for event in events:
        state.events.append(replace(event, sequence=state.next_sequence))
        state.next_sequence += 1


def _check_order_keys(state: FakeStore, row: Order) -> None:
    """Refuse what the orders table refuses: an unknown account or strategy, a taken key."""
    if row.account_id not in state.accounts or row.strategy_id not in state.strategies:
        raise Conflict(CONFLICT)
    _check_keys(state, row)


def _check_keys(state: FakeStore, row: Order) -> None:
    for other in state.orders.values():
        if (other.account_id, other.client_order_id) == (row.account_id, row.client_order_id):
            raise DuplicateClientOrderId(row.client_order_id)
        if row.order_id == other.order_id or (row.tag is not None and row.tag == other.tag):
            raise Conflict(CONFLICT)
    _check_broker_order_id(state, row)


def _check_broker_order_id(state: FakeStore, row: Order) -> None:
    """One broker order is at most one row of its account (NULL is no broker order yet)."""
    if row.broker_order_id is None:
        return
    for other in state.orders.values():
        same = (other.account_id, other.broker_order_id) == (row.account_id, row.broker_order_id)
        if same and other.order_id != row.order_id:
            raise Conflict(CONFLICT)


def _keys_taken(state: FakeStore, row: Order) -> bool:
    try:
        _check_keys(state, row)
    except (Conflict, DuplicateClientOrderId):
        return True
    return False


def _matches(order: Order, query: OrderQuery) -> bool:
    checks = (
        query.scope.includes(order.account_id),
        query.account_id is None or order.account_id == query.account_id,
        query.status is None or order.status == query.status,
        query.strategy_id is None or order.strategy_id == query.strategy_id,
        query.after is None or order.order_id < query.after,
    )
    return all(checks)
