"""Portfolios: named groups of strategies across accounts, for P&L roll-up.

Who sees what: a portfolio a user makes is that user's (and every admin's); an account's
default portfolio is seen by everyone granted the account, and no one changes it. A portfolio
shows, and its books count, only the strategies of accounts the caller may see: one that spans
an account the caller lost access to shows the rest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from order_service.domain.account import AccountScope, Principal
from order_service.domain.ids import PortfolioId, StrategyId, new_ulid
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.errors import Conflict, NotFound
from order_service.services.access import granted
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts, visible_accounts, visible_strategy

_NO_ACCOUNTS = AccountScope(frozenset())


async def visible_portfolios(uow: UnitOfWork, principal: Principal) -> list[Portfolio]:
    """Return the portfolios the principal may see, each holding only strategies it may see."""
    accounts = await visible_accounts(uow, principal)
    owner = None if principal.is_admin else principal.user_id
    portfolios = await uow.portfolios.list(PortfolioScope(owner, accounts))
    seen = {s.strategy_id for s in await uow.strategies.list(accounts)}
    return [_showing(p, seen) for p in portfolios]


class PortfolioService:
    """The caller's portfolios and the defaults of its accounts."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def list_portfolios(self, principal: Principal) -> list[Portfolio]:
        async with self._uow() as uow:
            return await visible_portfolios(uow, principal)

    async def get_portfolio(self, principal: Principal, portfolio_id: PortfolioId) -> Portfolio:
        async with self._uow() as uow:
            return await _visible_portfolio(uow, principal, portfolio_id)

    async def create_portfolio(self, principal: Principal, name: str) -> Portfolio:
        """Make an empty portfolio of the caller's; a name it uses already is ``Conflict``."""
        refuse_scripts(principal)
        portfolio = Portfolio(PortfolioId(new_ulid()), name, principal.user_id, self._now())
        async with self._uow() as uow:
            await _check_name_free(uow, principal, name)
            await uow.portfolios.add(portfolio)
            await uow.commit()
        return portfolio

    async def update_portfolio(
        self,
        principal: Principal,
        portfolio_id: PortfolioId,
        name: str | None,
        archived: bool | None,
    ) -> Portfolio:
        """Rename, archive or restore one of the caller's portfolios (never a default one)."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            portfolio = await _visible_portfolio(uow, principal, portfolio_id)
            if name is not None and name != portfolio.name:
                await _check_name_free(uow, principal, name)
                portfolio = portfolio.renamed(name)
            if archived is not None:
                portfolio = portfolio.archived(self._now()) if archived else portfolio.restored()
            await uow.portfolios.save(portfolio)
            await uow.commit()
        return portfolio

    async def delete_portfolio(self, principal: Principal, portfolio_id: PortfolioId) -> None:
        """Delete a portfolio; its strategies, their orders and positions are untouched."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            portfolio = await _visible_portfolio(uow, principal, portfolio_id)
            portfolio.refuse_if_default("deleted")
            await uow.portfolios.remove(portfolio_id)
            await uow.commit()

    async def attach(
        self, principal: Principal, portfolio_id: PortfolioId, strategy_id: StrategyId
    ) -> Portfolio:
        """Add a visible, unarchived strategy to the portfolio (again: no change)."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            portfolio = await _visible_portfolio(uow, principal, portfolio_id)
            strategy = await visible_strategy(uow, principal, strategy_id)
            portfolio.check_regroupable()
            if strategy.is_archived:
                raise Conflict(
                    f"strategy {strategy_id} is archived and joins no portfolio",
                    details={"strategy_id": strategy_id, "reason": "archived"},
                )
            await uow.portfolios.attach(portfolio_id, strategy_id)
            await uow.commit()
        return replace(portfolio, strategy_ids=portfolio.strategy_ids | {strategy_id})

    async def detach(
        self, principal: Principal, portfolio_id: PortfolioId, strategy_id: StrategyId
    ) -> None:
        """Take a strategy out of the portfolio; one it does not hold is ``NotFound``."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            portfolio = await _visible_portfolio(uow, principal, portfolio_id)
            portfolio.check_regroupable()
            if strategy_id not in portfolio.strategy_ids:
                raise NotFound(
                    f"portfolio {portfolio_id} holds no strategy {strategy_id}",
                    details={"portfolio_id": portfolio_id, "strategy_id": strategy_id},
                )
            await uow.portfolios.detach(portfolio_id, strategy_id)
            await uow.commit()

    def _now(self) -> datetime:
        return self._clock.now()


async def _visible_portfolio(
    uow: UnitOfWork, principal: Principal, portfolio_id: PortfolioId
) -> Portfolio:
    portfolio = await uow.portfolios.get(portfolio_id)
    if portfolio is None or not await _may_see(uow, principal, portfolio):
        raise NotFound(
            f"portfolio {portfolio_id} not found", details={"portfolio_id": portfolio_id}
        )
    seen = await uow.strategies.list(await visible_accounts(uow, principal))
    return _showing(portfolio, {s.strategy_id for s in seen})


async def _may_see(uow: UnitOfWork, principal: Principal, portfolio: Portfolio) -> bool:
    """An owner (or admin) sees its portfolio; anyone granted the account sees its default."""
    if portfolio.default_for is None:
        return principal.is_admin or portfolio.owner_id == principal.user_id
    if not await granted(uow, principal, portfolio.default_for):
        return False
    account = await uow.accounts.get(portfolio.default_for)
    return account is not None and not account.is_removed


async def _check_name_free(uow: UnitOfWork, principal: Principal, name: str) -> None:
    """Refuse a name the caller's portfolios hold (the unique constraint guards a race)."""
    owned = await uow.portfolios.list(PortfolioScope(principal.user_id, _NO_ACCOUNTS))
    if any(p.name == name for p in owned):
        raise Conflict(
            f"you have a portfolio named {name!r}",
            details={"name": name, "reason": "name_taken"},
        )


def _showing(portfolio: Portfolio, seen: set[StrategyId]) -> Portfolio:
    return replace(portfolio, strategy_ids=portfolio.strategy_ids & seen)
