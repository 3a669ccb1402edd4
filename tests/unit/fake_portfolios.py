"""The fake portfolio repository, refusing what the portfolios tables refuse."""

from __future__ import annotations

from dataclasses import replace

from order_service.domain.ids import AccountId, PortfolioId, StrategyId
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.errors import Conflict, NotFound
from tests.unit.fake_store import CONFLICT, FakeRepository, FakeStore


class FakePortfolioRepository(FakeRepository):
    async def add(self, portfolio: Portfolio) -> None:
        def insert(state: FakeStore) -> None:
            _check_keys(state, portfolio)
            state.portfolios[portfolio.portfolio_id] = portfolio

        self._stage(insert)

    async def ensure_default(self, candidate: Portfolio) -> Portfolio:
        assert candidate.default_for is not None
        account_id = candidate.default_for

        def insert(state: FakeStore) -> None:
            found = _default_of(state, account_id)
            if found is None:
                _check_keys(state, candidate)
                state.portfolios[candidate.portfolio_id] = candidate
                return
            held = found.strategy_ids | candidate.strategy_ids
            state.portfolios[found.portfolio_id] = replace(found, strategy_ids=held)

        self._stage(insert)
        default = _default_of(self._view(), account_id)
        assert default is not None
        return default

    async def save(self, portfolio: Portfolio) -> None:
        def update(state: FakeStore) -> None:
            stored = state.portfolios.get(portfolio.portfolio_id)
            if stored is None:
                raise NotFound(f"portfolio {portfolio.portfolio_id} not found")
            kept = replace(stored, name=portfolio.name, archived_at=portfolio.archived_at)
            if any(_same_name(kept, other) for other in state.portfolios.values()):
                raise Conflict(CONFLICT)
            state.portfolios[portfolio.portfolio_id] = kept

        self._stage(update)

    async def remove(self, portfolio_id: PortfolioId) -> None:
        def delete(state: FakeStore) -> None:
            state.portfolios.pop(portfolio_id, None)

        self._stage(delete)

    async def get(self, portfolio_id: PortfolioId) -> Portfolio | None:
        return self._view().portfolios.get(portfolio_id)

    async def get_default(self, account_id: AccountId) -> Portfolio | None:
        return _default_of(self._view(), account_id)

    async def list(self, scope: PortfolioScope) -> list[Portfolio]:
        found = sorted(self._view().portfolios.values(), key=lambda p: p.portfolio_id)
        return [p for p in found if scope.includes(p)]

    async def attach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None:
        def insert(state: FakeStore) -> None:
            portfolio = state.portfolios.get(portfolio_id)
            if portfolio is None or strategy_id not in state.strategies:
                raise Conflict(CONFLICT)
            held = portfolio.strategy_ids | {strategy_id}
            state.portfolios[portfolio_id] = replace(portfolio, strategy_ids=held)

        self._stage(insert)

    async def detach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None:
        def remove(state: FakeStore) -> None:
            portfolio = state.portfolios.get(portfolio_id)
            if portfolio is not None:
                held = portfolio.strategy_ids - {strategy_id}
                state.portfolios[portfolio_id] = replace(portfolio, strategy_ids=held)

        self._stage(remove)

    async def detach_everywhere(self, strategy_id: StrategyId) -> None:
        def remove(state: FakeStore) -> None:
            for key, portfolio in list(state.portfolios.items()):
                held = portfolio.strategy_ids - {strategy_id}
                state.portfolios[key] = replace(portfolio, strategy_ids=held)

        self._stage(remove)


def _default_of(state: FakeStore, account_id: AccountId) -> Portfolio | None:
    found = (p for p in state.portfolios.values() if p.default_for == account_id)
    return next(found, None)


def _check_keys(state: FakeStore, portfolio: Portfolio) -> None:
    """Refuse a taken id, a second default of an account, an owner's name twice."""
    if portfolio.portfolio_id in state.portfolios:
        raise Conflict(CONFLICT)
    if portfolio.default_for is not None and (
        portfolio.default_for not in state.accounts
        or _default_of(state, portfolio.default_for) is not None
    ):
        raise Conflict(CONFLICT)
    if any(_same_name(portfolio, other) for other in state.portfolios.values()):
        raise Conflict(CONFLICT)
    if any(s not in state.strategies for s in portfolio.strategy_ids):
        raise Conflict(CONFLICT)


def _same_name(portfolio: Portfolio, other: Portfolio) -> bool:
    """The unique (owner, name) constraint: NULL owners (defaults) never collide."""
    return (
        other.portfolio_id != portfolio.portfolio_id
        and portfolio.owner_id is not None
        and other.owner_id == portfolio.owner_id
        and other.name == portfolio.name
    )
