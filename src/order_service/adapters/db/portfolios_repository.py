"""Portfolios and the strategies each groups."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, RowMapping, and_, delete, insert, or_, select, true, update

from order_service.adapters.db.mapping import portfolio_from_row, portfolio_values
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import portfolio_strategies, portfolios
from order_service.domain.ids import AccountId, PortfolioId, StrategyId
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.errors import NotFound

_members = portfolio_strategies


class SqlPortfolioRepository(SqlRepository):
    async def add(self, portfolio: Portfolio) -> None:
        await self._execute(insert(portfolios).values(portfolio_values(portfolio)))
        for strategy_id in sorted(portfolio.strategy_ids):
            await self.attach(portfolio.portfolio_id, strategy_id)

    async def ensure_default(self, candidate: Portfolio) -> Portfolio:
        """Store ``candidate`` unless its account has a default portfolio; return the default.

        ``default_for`` is unique, so concurrent callers store one portfolio between them; the
        candidate's strategies (the account's default) are attached to whichever won.
        """
        assert candidate.default_for is not None
        await self._execute(self._insert_or_ignore(portfolios, portfolio_values(candidate)))
        default = await self.get_default(candidate.default_for)
        assert default is not None  # stored now, by us or by whoever got there first
        for strategy_id in sorted(candidate.strategy_ids - default.strategy_ids):
            await self.attach(default.portfolio_id, strategy_id)
        return await self._reread(default.portfolio_id)

    async def save(self, portfolio: Portfolio) -> None:
        statement = (
            update(portfolios)
            .where(portfolios.c.portfolio_id == portfolio.portfolio_id)
            .values(name=portfolio.name, archived_at=portfolio.archived_at)
        )
        missing = NotFound(f"portfolio {portfolio.portfolio_id} not found")
        await self._expect_rows(statement, None, missing)

    async def remove(self, portfolio_id: PortfolioId) -> None:
        await self._execute(delete(_members).where(_members.c.portfolio_id == portfolio_id))
        await self._execute(delete(portfolios).where(portfolios.c.portfolio_id == portfolio_id))

    async def get(self, portfolio_id: PortfolioId) -> Portfolio | None:
        found = await self._portfolios(portfolios.c.portfolio_id == portfolio_id)
        return found[0] if found else None

    async def get_default(self, account_id: AccountId) -> Portfolio | None:
        found = await self._portfolios(portfolios.c.default_for == account_id)
        return found[0] if found else None

    async def list(self, scope: PortfolioScope) -> builtins.list[Portfolio]:
        """Return the portfolios ``scope`` may see, by id."""
        return await self._portfolios(_visible(scope))

    async def attach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None:
        values = {"portfolio_id": portfolio_id, "strategy_id": strategy_id}
        await self._execute(self._insert_or_ignore(_members, values))

    async def detach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None:
        statement = delete(_members).where(
            _members.c.portfolio_id == portfolio_id, _members.c.strategy_id == strategy_id
        )
        await self._execute(statement)

    async def detach_everywhere(self, strategy_id: StrategyId) -> None:
        await self._execute(delete(_members).where(_members.c.strategy_id == strategy_id))

    async def _reread(self, portfolio_id: PortfolioId) -> Portfolio:
        portfolio = await self.get(portfolio_id)
        assert portfolio is not None
        return portfolio

    async def _portfolios(self, condition: ColumnElement[bool]) -> builtins.list[Portfolio]:
        rows = await self._all(
            select(portfolios).where(condition).order_by(portfolios.c.portfolio_id)
        )
        members = await self._members_of([row["portfolio_id"] for row in rows])
        return [
            portfolio_from_row(row, members.get(row["portfolio_id"], frozenset())) for row in rows
        ]

    async def _members_of(self, portfolio_ids: Collection[str]) -> dict[str, frozenset[StrategyId]]:
        if not portfolio_ids:
            return {}
        statement = select(_members).where(_members.c.portfolio_id.in_(sorted(portfolio_ids)))
        return _grouped(await self._all(statement))


def _visible(scope: PortfolioScope) -> ColumnElement[bool]:
    """A user's own portfolios (every user's for None) and the defaults of the scope's accounts."""
    column = portfolios.c
    owned = true() if scope.owner_id is None else column.owner_id == scope.owner_id
    accounts = scope.accounts.account_ids
    defaults = (
        column.default_for.is_not(None)
        if accounts is None
        else column.default_for.in_(sorted(accounts))
    )
    return or_(and_(column.default_for.is_(None), owned), defaults)


def _grouped(rows: Sequence[RowMapping]) -> dict[str, frozenset[StrategyId]]:
    grouped: dict[str, set[StrategyId]] = {}
    for row in rows:
        grouped.setdefault(row["portfolio_id"], set()).add(StrategyId(row["strategy_id"]))
    return {key: frozenset(value) for key, value in grouped.items()}
