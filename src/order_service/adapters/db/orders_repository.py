"""Orders and their event log."""

from __future__ import annotations

import builtins

from sqlalchemy import ColumnElement, Select, bindparam, insert, select, update

from order_service.adapters.db.mapping import (
    event_from_row,
    event_values,
    order_from_row,
    order_values,
)
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import order_events, orders
from order_service.domain.events import OrderEvent
from order_service.domain.ids import AccountId, BrokerOrderId, ClientOrderId, OrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import StaleWrite
from order_service.services.ports import OrderQuery

# Built once: statements given their values as parameters compile once and stay cached, where
# .values(**row) would coerce every column of every order into a new bind parameter.
_INSERT_ORDER = insert(orders)
_INSERT_EVENTS = insert(order_events)
_UPDATE_ORDER = update(orders).where(
    orders.c.order_id == bindparam("match_order_id"),
    orders.c.version == bindparam("match_version"),
)
UNSETTLED = tuple(sorted(status.value for status in OrderStatus if not status.is_terminal))


class SqlOrderRepository(SqlRepository):
    """Orders with optimistic concurrency on ``version``; events get their sequence here."""

    async def add(self, order: Order) -> None:
        """Insert the order and its pending events; a taken key raises DuplicateClientOrderId."""
        await self._execute(_INSERT_ORDER, [{**order_values(order), "version": order.version}])
        await self._store_events(order)

    async def save(self, order: Order) -> None:
        """Write the order if nobody else did since it was read, else raise StaleWrite."""
        values = order_values(order)
        key = {"match_order_id": values.pop("order_id"), "match_version": order.version}
        parameters = {**values, **key, "version": order.version + 1}
        await self._expect_rows(_UPDATE_ORDER, parameters, StaleWrite(order.order_id))
        await self._store_events(order)
        order.version += 1

    async def get(self, order_id: OrderId) -> Order | None:
        return await self._first(select(orders).where(orders.c.order_id == order_id))

    async def get_by_client_order_id(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Order | None:
        return await self._first(
            select(orders).where(
                orders.c.account_id == account_id, orders.c.client_order_id == client_order_id
            )
        )

    async def get_by_broker_order_id(
        self, account_id: AccountId, broker_order_id: BrokerOrderId
    ) -> Order | None:
        return await self._first(
            select(orders).where(
                orders.c.account_id == account_id, orders.c.broker_order_id == broker_order_id
            )
        )

    async def get_by_tag(self, tag: str) -> Order | None:
        return await self._first(select(orders).where(orders.c.tag == tag))

    async def list(self, query: OrderQuery) -> list[Order]:
        """Return one page, newest first; the next page starts after the last order id."""
        return [order_from_row(row) for row in await self._all(_page(query))]

    async def list_unsettled(self, account_id: AccountId) -> builtins.list[Order]:
        statement = (
            select(orders)
            .where(orders.c.account_id == account_id, orders.c.status.in_(UNSETTLED))
            .order_by(orders.c.order_id)
        )
        return [order_from_row(row) for row in await self._all(statement)]

    async def accounts_with_unsettled(self) -> builtins.list[AccountId]:
        statement = (
            select(orders.c.account_id)
            .where(orders.c.status.in_(UNSETTLED))
            .distinct()
            .order_by(orders.c.account_id)
        )
        return [AccountId(row["account_id"]) for row in await self._all(statement)]

    async def events(self, order_id: OrderId) -> builtins.list[OrderEvent]:
        statement = (
            select(order_events)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.sequence)
        )
        return [event_from_row(row) for row in await self._all(statement)]

    async def _first(self, statement: Select[*tuple[object, ...]]) -> Order | None:
        row = await self._one_or_none(statement)
        return order_from_row(row) if row is not None else None

    async def _store_events(self, order: Order) -> None:
        if order.pending_events:
            rows = [event_values(event) for event in order.pending_events]
            await self._execute(_INSERT_EVENTS, rows)
        order.pending_events.clear()


def _page(query: OrderQuery) -> Select[*tuple[object, ...]]:
    conditions: list[ColumnElement[bool]] = []
    if query.scope.account_ids is not None:
        conditions.append(orders.c.account_id.in_(sorted(query.scope.account_ids)))
    if query.account_id is not None:
        conditions.append(orders.c.account_id == query.account_id)
    if query.status is not None:
        conditions.append(orders.c.status == query.status.value)
    if query.strategy_id is not None:
        conditions.append(orders.c.strategy_id == query.strategy_id)
    if query.after is not None:
        conditions.append(orders.c.order_id < query.after)
    return select(orders).where(*conditions).order_by(orders.c.order_id.desc()).limit(query.limit)
