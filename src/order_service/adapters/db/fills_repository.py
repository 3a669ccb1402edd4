"""The fill ledger: fills stored once per (account, trade id), read by order or by account."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, func, select, true

from order_service.adapters.db.bulk import (
    among,
    fields_of,
    insert_or_ignore_from,
    rows_for_statement,
)
from order_service.adapters.db.mapping import Values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import fills, orders
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, StrategyId
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from order_service.services.ports import FillPage


class SqlFillRepository(SqlRepository):
    """Insert-or-ignore on the trade id, so a trade book read twice stores each fill once."""

    async def add_new(self, new: list[Fill]) -> list[Fill]:
        """Store, in one statement, the fills whose (account, trade id) is not stored yet.

        The database says which rows it stored (``RETURNING``), so a fill another writer stored
        first, even between our reads and this insert, is never reported as ours.
        """
        unique = _first_of_each(new)
        if not unique:
            return []
        dialect = self._runner.dialect_name
        values = [fill_values(f) for f in unique]
        source = await rows_for_statement(self._runner, fields_of(*_FILL_COLUMNS), values)
        # The WHERE lets SQLite tell the SELECT from the ON CONFLICT clause that follows it.
        chosen = select(*(source.c[name] for name in _NAMES)).where(true())
        chosen = chosen.order_by(source.c.position)
        statement = insert_or_ignore_from(dialect, fills, _NAMES, chosen).returning(
            fills.c.account_id, fills.c.trade_id
        )
        stored = {(row["account_id"], row["trade_id"]) for row in await self._all(statement)}
        return [fill for fill in unique if (fill.account_id, fill.trade_id) in stored]

    async def known_trade_ids(
        self, account_id: AccountId, trade_ids: Collection[TradeId]
    ) -> set[TradeId]:
        if not trade_ids:
            return set()
        key = among(self._runner.dialect_name, fills.c.trade_id, trade_ids)
        statement = select(fills.c.trade_id).where(fills.c.account_id == account_id, key)
        return {TradeId(row["trade_id"]) for row in await self._all(statement)}

    async def for_order(self, order_id: OrderId) -> list[Fill]:
        statement = select(fills).where(fills.c.order_id == order_id).order_by(fills.c.sequence)
        return _fills(await self._all(statement))

    async def for_orders(self, order_ids: Collection[OrderId]) -> list[Fill]:
        if not order_ids:
            return []
        key = among(self._runner.dialect_name, fills.c.order_id, order_ids)
        statement = select(fills).where(key).order_by(fills.c.sequence)
        return _fills(await self._all(statement))

    async def for_account(
        self, account_id: AccountId, after: int | None = None, limit: int = 100
    ) -> list[Fill]:
        statement = select(fills).where(fills.c.account_id == account_id)
        if after is not None:
            statement = statement.where(fills.c.sequence > after)
        statement = statement.order_by(fills.c.sequence).limit(limit)
        return _fills(await self._all(statement))

    async def after(self, account_id: AccountId, sequence: int | None) -> list[Fill]:
        statement = select(fills).where(fills.c.account_id == account_id)
        if sequence is not None:
            statement = statement.where(fills.c.sequence > sequence)
        return _fills(await self._all(statement.order_by(fills.c.sequence)))

    async def page(self, wanted: FillPage) -> list[Fill]:
        if not wanted.account_ids:
            return []
        statement = select(fills).where(
            self._accounts(wanted.account_ids),
            wanted.start <= _EXECUTED_AT,
            wanted.end > _EXECUTED_AT,
        )
        if wanted.after is not None:
            statement = statement.where(fills.c.sequence > wanted.after)
        statement = statement.order_by(fills.c.sequence).limit(wanted.limit)
        return _fills(await self._all(statement))

    async def accounts_short(
        self, account_ids: Collection[AccountId], since: datetime
    ) -> list[AccountId]:
        if not account_ids:
            return []
        held = (
            select(func.coalesce(func.sum(fills.c.quantity), 0))
            .where(fills.c.order_id == orders.c.order_id)
            .scalar_subquery()
        )
        statement = (
            select(orders.c.account_id)
            .where(
                among(self._runner.dialect_name, orders.c.account_id, account_ids),
                orders.c.created_at >= since,  # the (account, created_at) index
                orders.c.filled_quantity > 0,
                orders.c.filled_quantity > held,
            )
            .distinct()
            .order_by(orders.c.account_id)
        )
        return [AccountId(row["account_id"]) for row in await self._all(statement)]

    def _accounts(self, account_ids: Collection[AccountId]) -> ColumnElement[bool]:
        return among(self._runner.dialect_name, fills.c.account_id, account_ids)


# When a fill was executed: the exchange's time, or ours when the exchange gave none.
_EXECUTED_AT = func.coalesce(fills.c.exchange_timestamp, fills.c.recorded_at)
_FILL_COLUMNS = [c for c in fills.c if c.name != "sequence"]
_NAMES = [c.name for c in _FILL_COLUMNS]


def fill_values(fill: Fill) -> Values:
    report = fill.report
    return {
        "account_id": fill.account_id,
        "trade_id": report.trade_id,
        "order_id": fill.order_id,
        "broker_order_id": report.broker_order_id,
        "strategy_id": fill.strategy_id,
        "exchange": report.exchange,
        "tradingsymbol": report.tradingsymbol,
        "product": report.product,
        "transaction_type": report.transaction_type.value,
        "quantity": report.quantity,
        "price": report.price,
        "exchange_timestamp": report.exchange_timestamp,
        "source": fill.source.value,
        "recorded_at": fill.recorded_at,
    }


# Looked up by value: a plain dict costs a fraction of the enum's call, row after row.
_SIDES = {side.value: side for side in TransactionType}
_SOURCES = {source.value: source for source in FillSource}


def fill_from_row(row: RowMapping) -> Fill:
    report = FillReport(
        trade_id=TradeId(row["trade_id"]),
        broker_order_id=BrokerOrderId(row["broker_order_id"]),
        exchange=row["exchange"],
        tradingsymbol=row["tradingsymbol"],
        product=row["product"],
        transaction_type=_SIDES[row["transaction_type"]],
        quantity=row["quantity"],
        price=row["price"],
        exchange_timestamp=row["exchange_timestamp"],
    )
    return Fill(
        account_id=AccountId(row["account_id"]),
        order_id=OrderId(row["order_id"]),
        strategy_id=StrategyId(row["strategy_id"]),
        report=report,
        source=_SOURCES[row["source"]],
        recorded_at=row["recorded_at"],
        sequence=row["sequence"],
    )


def _first_of_each(new: list[Fill]) -> list[Fill]:
    """Return the first fill of each (account, trade id), in the given order."""
    seen: set[tuple[AccountId, TradeId]] = set()
    unique: list[Fill] = []
    for fill in new:
        if (fill.account_id, fill.trade_id) not in seen:
            seen.add((fill.account_id, fill.trade_id))
            unique.append(fill)
    return unique


def _fills(rows: Sequence[RowMapping]) -> list[Fill]:
    return [fill_from_row(row) for row in rows]
