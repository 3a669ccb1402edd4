"""Orders and their event log."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Insert,
    Integer,
    Select,
    Update,
    bindparam,
    func,
    insert,
    select,
    true,
    update,
)

from order_service.adapters.db.bulk import (
    Field,
    among,
    fields_of,
    insert_all,
    insert_or_ignore_from,
    rows_for_statement,
)
from order_service.adapters.db.mapping import (
    Values,
    event_from_row,
    event_values,
    order_from_row,
    order_values,
)
from order_service.adapters.db.repositories import SqlRepository, the_only
from order_service.adapters.db.tables import ULID, order_events, orders, unsettled
from order_service.domain.events import OrderEvent
from order_service.domain.ids import AccountId, BrokerOrderId, ClientOrderId, OrderId
from order_service.domain.order import Order
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
# What ``save_all`` writes: what the broker's books change of an order (its state, the broker's
# fields, its fills, its working terms). Rewriting every column would also rewrite every index.
_REWRITTEN = [
    orders.c[name]
    for name in (
        "status",
        "broker_order_id",
        "broker_status",
        "status_message",
        "exchange_order_id",
        "filled_quantity",
        "average_price",
        "quantity",
        "price",
        "trigger_price",
        "order_type",
        "validity",
        "disclosed_quantity",
        "modification_count",
        "updated_at",
    )
]
_EVENT_COLUMNS = [c for c in order_events.c if c.name != "sequence"]


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

    async def with_key_prefix(
        self, account_id: AccountId, prefix: str, limit: int
    ) -> builtins.list[Order]:
        key = orders.c.client_order_id
        statement = (
            select(orders)
            .where(orders.c.account_id == account_id, func.substr(key, 1, len(prefix)) == prefix)
            .order_by(orders.c.order_id)
            .limit(limit)
        )
        return await self._orders(statement)

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
        return await self._orders(_page(query))

    async def list_unsettled(self, account_id: AccountId) -> builtins.list[Order]:
        statement = (
            select(orders)
            .where(orders.c.account_id == account_id, unsettled(orders.c.status))
            .order_by(orders.c.order_id)
        )
        return await self._orders(statement)

    async def accounts_with_unsettled(self) -> builtins.list[AccountId]:
        statement = (
            select(orders.c.account_id)
            .where(unsettled(orders.c.status))
            .distinct()
            .order_by(orders.c.account_id)
        )
        return [AccountId(row["account_id"]) for row in await self._all(statement)]

    async def by_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> builtins.list[Order]:
        if not broker_order_ids:
            return []
        statement = select(orders).where(
            orders.c.account_id == account_id,
            self._among(orders.c.broker_order_id, broker_order_ids),
        )
        return await self._orders(statement)

    async def known_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> set[BrokerOrderId]:
        if not broker_order_ids:
            return set()
        statement = select(orders.c.broker_order_id).where(
            orders.c.account_id == account_id,
            self._among(orders.c.broker_order_id, broker_order_ids),
        )
        return {BrokerOrderId(row["broker_order_id"]) for row in await self._all(statement)}

    async def known_tags(self, account_id: AccountId, tags: Collection[str]) -> set[str]:
        if not tags:
            return set()
        statement = select(orders.c.tag).where(
            orders.c.account_id == account_id, self._among(orders.c.tag, tags)
        )
        return {row["tag"] for row in await self._all(statement)}

    async def with_event(self, order_ids: Collection[OrderId], name: str) -> set[OrderId]:
        if not order_ids:
            return set()
        statement = (
            select(order_events.c.order_id)
            .where(order_events.c.name == name, self._among(order_events.c.order_id, order_ids))
            .distinct()
        )
        return {OrderId(row["order_id"]) for row in await self._all(statement)}

    async def save_all(self, changed: Sequence[Order]) -> builtins.list[Order]:
        """Write, in one statement, each order that nobody else wrote since it was read.

        What is written is what the broker's books change (``_REWRITTEN``), with the events.
        Return the orders that lost that race, unwritten with their events still pending (what
        ``save`` would have refused with ``StaleWrite``); the others and their events are
        written and their versions move on.
        """
        return await self._save_each(changed, _REWRITTEN, _reconciled_values)

    async def _save_each(
        self,
        changed: Sequence[Order],
        columns: Sequence[Column[Any]],
        values: Callable[[Order], Values],
    ) -> builtins.list[Order]:
        """Write ``columns`` of each order still at the version it was read at, and its events;
        return the orders that lost that race."""
        if not changed:
            return []
        rows = [values(o) for o in changed]
        update = await self._update_all(rows, columns)
        written = {row["order_id"] for row in await self._all(update)}
        await self._insert_events(o for o in changed if o.order_id in written)
        for order in changed:
            if order.order_id in written:
                order.version += 1
        return [o for o in changed if o.order_id not in written]

    async def append_events(self, changed: Sequence[Order]) -> None:
        await self._insert_events(changed)

    async def add_absent(self, new: Sequence[Order]) -> builtins.list[Order]:
        """Insert the orders whose keys no stored order holds; return those, events stored.

        An order whose broker id, client order id or tag is taken is left out (its events too):
        re-seeing a broker order never stores it twice, whoever stored it first.
        """
        if not new:
            return []
        rows = [{**order_values(o), "version": o.version} for o in new]
        added = {row["order_id"] for row in await self._all(await self._insert_absent(rows))}
        stored = [o for o in new if o.order_id in added]
        await self._insert_events(stored)
        return stored

    async def events(self, order_id: OrderId) -> builtins.list[OrderEvent]:
        statement = (
            select(order_events)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.sequence)
        )
        return [event_from_row(row) for row in await self._all(statement)]

    def _among(self, key: ColumnElement[str], values: Collection[str]) -> ColumnElement[bool]:
        return among(self._runner.dialect_name, key, values)

    async def _first(self, statement: Select[*tuple[object, ...]]) -> Order | None:
        row = the_only(await self._rows(statement))
        return order_from_row(row) if row is not None else None

    async def _orders(self, statement: Select[*tuple[object, ...]]) -> builtins.list[Order]:
        """The orders of a ``select(orders)``, rebuilt from rows read by position."""
        return [order_from_row(row) for row in await self._rows(statement)]

    async def _store_events(self, order: Order) -> None:
        if order.pending_events:
            rows = [event_values(event) for event in order.pending_events]
            await self._execute(_INSERT_EVENTS, rows)
        order.pending_events.clear()

    async def _insert_events(self, written: Iterator[Order] | Sequence[Order]) -> None:
        """Store the orders' pending events in one statement, in their order (their sequence)."""
        rows: builtins.list[Values] = []
        for order in written:
            rows += [event_values(event) for event in order.pending_events]
            order.pending_events.clear()
        if rows:
            await insert_all(self._runner, order_events, _EVENT_COLUMNS, rows)

    async def _update_all(
        self, rows: builtins.list[Values], columns: Sequence[Column[Any]]
    ) -> Update:
        fields: builtins.list[Field] = [
            ("order_id", ULID),
            ("match_version", Integer()),
            *fields_of(*columns),
        ]
        source = await rows_for_statement(self._runner, fields, rows)
        return (
            update(orders)
            .where(
                orders.c.order_id == source.c.order_id,
                orders.c.version == source.c.match_version,
            )
            .values(
                {**{c.name: source.c[c.name] for c in columns}, "version": orders.c.version + 1}
            )
            .returning(orders.c.order_id)
        )

    async def _insert_absent(self, rows: builtins.list[Values]) -> Insert:
        names = [c.name for c in orders.c]
        source = await rows_for_statement(self._runner, fields_of(*orders.c), rows)
        # The WHERE lets SQLite tell the SELECT from the ON CONFLICT clause that follows it.
        chosen = (
            select(*(source.c[name] for name in names)).where(true()).order_by(source.c.position)
        )
        statement = insert_or_ignore_from(self._runner.dialect_name, orders, names, chosen)
        return statement.returning(orders.c.order_id)


def _reconciled_values(order: Order) -> Values:
    request = order.request
    return {
        "order_id": order.order_id,
        "match_version": order.version,
        "status": order.status.value,
        "broker_order_id": order.broker_order_id,
        "broker_status": order.broker_status,
        "status_message": order.status_message,
        "exchange_order_id": order.exchange_order_id,
        "filled_quantity": order.filled_quantity,
        "average_price": order.average_price,
        "quantity": request.quantity,
        "price": request.price,
        "trigger_price": request.trigger_price,
        "order_type": request.order_type.value,
        "validity": request.validity.value,
        "disclosed_quantity": request.disclosed_quantity,
        "modification_count": order.modification_count,
        "updated_at": order.updated_at,
    }


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
