"""The fill ledger: fills stored once per (account, trade id), read by order or by account."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping, select

from order_service.adapters.db.mapping import Values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import fills
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, StrategyId
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType


class SqlFillRepository(SqlRepository):
    """Insert-or-ignore on the trade id, so a trade book read twice stores each fill once."""

    async def add_new(self, new: list[Fill]) -> list[Fill]:
        stored = await self._stored_trade_ids(new)
        added: list[Fill] = []
        for fill in new:
            key = (fill.account_id, fill.trade_id)
            if key in stored:
                continue
            stored.add(key)
            # Another writer may store it between our read and this insert: ignore it then.
            await self._execute(self._insert_or_ignore(fills, fill_values(fill)))
            added.append(fill)
        return added

    async def for_order(self, order_id: OrderId) -> list[Fill]:
        statement = select(fills).where(fills.c.order_id == order_id).order_by(fills.c.sequence)
        return _fills(await self._all(statement))

    async def for_account(
        self, account_id: AccountId, after: int | None = None, limit: int = 100
    ) -> list[Fill]:
        statement = select(fills).where(fills.c.account_id == account_id)
        if after is not None:
            statement = statement.where(fills.c.sequence > after)
        statement = statement.order_by(fills.c.sequence).limit(limit)
        return _fills(await self._all(statement))

    async def _stored_trade_ids(self, new: list[Fill]) -> set[tuple[AccountId, TradeId]]:
        found: set[tuple[AccountId, TradeId]] = set()
        for account_id in sorted({fill.account_id for fill in new}):
            trade_ids = sorted({fill.trade_id for fill in new if fill.account_id == account_id})
            statement = select(fills.c.trade_id).where(
                fills.c.account_id == account_id, fills.c.trade_id.in_(trade_ids)
            )
            found |= {(account_id, TradeId(row["trade_id"])) for row in await self._all(statement)}
        return found


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


def fill_from_row(row: RowMapping) -> Fill:
    report = FillReport(
        trade_id=TradeId(row["trade_id"]),
        broker_order_id=BrokerOrderId(row["broker_order_id"]),
        exchange=row["exchange"],
        tradingsymbol=row["tradingsymbol"],
        product=row["product"],
        transaction_type=TransactionType(row["transaction_type"]),
        quantity=row["quantity"],
        price=row["price"],
        exchange_timestamp=row["exchange_timestamp"],
    )
    return Fill(
        account_id=AccountId(row["account_id"]),
        order_id=OrderId(row["order_id"]),
        strategy_id=StrategyId(row["strategy_id"]),
        report=report,
        source=FillSource(row["source"]),
        recorded_at=row["recorded_at"],
        sequence=row["sequence"],
    )


def _fills(rows: Sequence[RowMapping]) -> list[Fill]:
    return [fill_from_row(row) for row in rows]
