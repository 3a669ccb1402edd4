"""The order event feed: the event log read in commit order, with each event's account.

PostgreSQL numbers events by commit (``order_event_positions``, filled while each writing
transaction commits, one at a time: migration 0010 says why), so a reader that passes back
the last place it saw never skips an event committed later with a lower sequence. SQLite
serializes writers: there an event's sequence is its place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, func, select

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import order_event_positions, order_events, orders
from order_service.domain.feed import FeedEvent
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.status import OrderStatus
from order_service.services.ports import FeedQuery

_PLACED = order_events.join(orders, orders.c.order_id == order_events.c.order_id)
_POSITIONED = order_event_positions.join(
    order_events, order_events.c.sequence == order_event_positions.c.sequence
).join(orders, orders.c.order_id == order_events.c.order_id)


class SqlOrderFeedRepository(SqlRepository):
    async def page(self, query: FeedQuery) -> list[FeedEvent]:
        return [_event(row) for row in await self._all(self._select(query))]

    async def last_sequence(self) -> int:
        column = self._place()
        row = await self._one_or_none(select(func.coalesce(func.max(column), 0).label("last")))
        return int(row["last"]) if row is not None else 0

    def _place(self) -> ColumnElement[Any]:
        if self._runner.dialect_name == "postgresql":
            return order_event_positions.c.position
        return order_events.c.sequence

    def _select(self, query: FeedQuery) -> Select[Any]:
        place = self._place()
        source = _POSITIONED if self._runner.dialect_name == "postgresql" else _PLACED
        return (
            select(place.label("place"), order_events, orders.c.account_id)
            .select_from(source)
            .where(place > query.after, *_conditions(query, place))
            .order_by(place)
            .limit(query.limit)
        )


def _conditions(query: FeedQuery, place: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.scope.account_ids is not None:
        conditions.append(orders.c.account_id.in_(sorted(query.scope.account_ids)))
    if query.account_id is not None:
        conditions.append(orders.c.account_id == query.account_id)
    if query.order_id is not None:
        conditions.append(order_events.c.order_id == query.order_id)
    if query.names is not None:
        conditions.append(order_events.c.name.in_(sorted(query.names)))
    if query.until is not None:
        conditions.append(place <= query.until)
    return conditions


def _event(row: RowMapping) -> FeedEvent:
    before = row["status_before"]
    return FeedEvent(
        sequence=int(row["place"]),
        account_id=AccountId(row["account_id"]),
        order_id=OrderId(row["order_id"]),
        name=row["name"],
        status_before=OrderStatus(before) if before is not None else None,
        status_after=OrderStatus(row["status_after"]),
        data=dict(row["data"]),
        occurred_at=row["occurred_at"],
    )
