"""Strategies: the named owners of orders inside an account, and the default one of each."""

from __future__ import annotations

from sqlalchemy import case, func, insert, select, true, update

from order_service.adapters.db.mapping import strategy_from_row, strategy_values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import fills, strategies
from order_service.domain.account import AccountScope, Strategy
from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.values import TransactionType
from order_service.errors import Conflict, NotFound

_SIGNED_QUANTITY = case(
    (fills.c.transaction_type == TransactionType.BUY.value, fills.c.quantity),
    else_=-fills.c.quantity,
)


class SqlStrategyRepository(SqlRepository):
    async def add(self, strategy: Strategy) -> None:
        await self._execute(insert(strategies).values(strategy_values(strategy)))

    async def ensure_default(self, candidate: Strategy) -> Strategy:
        """Store ``candidate`` unless the account has its default already; return the default.

        The partial unique index keeps one default per account; a concurrent writer's insert
        waits for ours (or ours for theirs) and then does nothing, so every caller gets the one.
        """
        values = strategy_values(candidate)
        await self._execute(self._insert_or_ignore(strategies, values))
        default = await self.get_default(candidate.account_id)
        if default is None:  # the candidate's name is a live strategy's: none could be stored
            raise Conflict(
                f"account {candidate.account_id} has no default strategy and its name is taken",
                details={"account_id": candidate.account_id},
            )
        return default

    async def save(self, strategy: Strategy) -> None:
        values = strategy_values(strategy)
        del values["strategy_id"], values["account_id"], values["created_at"]
        del values["is_default"]
        statement = (
            update(strategies)
            .where(strategies.c.strategy_id == strategy.strategy_id)
            .values(values)
        )
        missing = NotFound(f"strategy {strategy.strategy_id} not found")
        await self._expect_rows(statement, None, missing)

    async def get(self, strategy_id: StrategyId) -> Strategy | None:
        statement = select(strategies).where(strategies.c.strategy_id == strategy_id)
        row = await self._one_or_none(statement)
        return strategy_from_row(row) if row is not None else None

    async def get_default(self, account_id: AccountId) -> Strategy | None:
        statement = select(strategies).where(
            strategies.c.account_id == account_id, strategies.c.is_default == true()
        )
        row = await self._one_or_none(statement)
        return strategy_from_row(row) if row is not None else None

    async def list(self, scope: AccountScope) -> list[Strategy]:
        """Return the strategies of the accounts in ``scope`` that are not deleted."""
        statement = (
            select(strategies)
            .where(strategies.c.deleted_at.is_(None))
            .order_by(strategies.c.account_id, strategies.c.strategy_id)
        )
        if scope.account_ids is not None:
            statement = statement.where(strategies.c.account_id.in_(sorted(scope.account_ids)))
        return [strategy_from_row(row) for row in await self._all(statement)]

    async def open_positions(self, strategy_id: StrategyId) -> int:
        """Return how many instruments the strategy's fills leave a quantity in."""
        net = (
            select(func.sum(_SIGNED_QUANTITY).label("net"))
            .where(fills.c.strategy_id == strategy_id)
            .group_by(fills.c.exchange, fills.c.tradingsymbol, fills.c.product)
            .subquery()
        )
        statement = select(func.count().label("open")).select_from(net).where(net.c.net != 0)
        rows = await self._all(statement)
        return int(rows[0]["open"]) if rows else 0
