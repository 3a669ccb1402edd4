"""Strategies: list, create, rename, archive and delete them, and each account's defaults.

A caller sees the strategies of the accounts it may act on (an admin every account's); any
other strategy does not exist for it. A script's key (one bound to a strategy) may read them
but change none: a strategy's algorithm does not get to reshape its own books.
"""

from __future__ import annotations

from datetime import datetime

from order_service.domain.account import (
    DEFAULT_STRATEGY_NAME,
    AccountScope,
    Principal,
    Strategy,
)
from order_service.domain.ids import AccountId, PortfolioId, StrategyId, new_ulid
from order_service.domain.portfolio import DEFAULT_PORTFOLIO_NAME, Portfolio
from order_service.errors import Conflict, NotFound, PermissionDenied
from order_service.services.access import granted, visible_account
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory


async def ensure_defaults(uow: UnitOfWork, account_id: AccountId, now: datetime) -> Strategy:
    """Give the account its default strategy and default portfolio unless it has them."""
    candidate = Strategy(StrategyId(new_ulid()), account_id, DEFAULT_STRATEGY_NAME, True, now)
    default = await uow.strategies.ensure_default(candidate)
    portfolio = Portfolio(
        PortfolioId(new_ulid()),
        DEFAULT_PORTFOLIO_NAME,
        None,
        now,
        default_for=account_id,
        strategy_ids=frozenset({default.strategy_id}),
    )
    await uow.portfolios.ensure_default(portfolio)
    return default


async def visible_strategy(
    uow: UnitOfWork, principal: Principal, strategy_id: StrategyId
) -> Strategy:
    """Return the strategy if its account is visible to the principal, else raise ``NotFound``."""
    strategy = await uow.strategies.get(strategy_id)
    if strategy is None or strategy.is_deleted or not await _live_account(uow, principal, strategy):
        raise NotFound(f"strategy {strategy_id} not found", details={"strategy_id": strategy_id})
    return strategy


async def visible_accounts(uow: UnitOfWork, principal: Principal) -> AccountScope:
    """Return the principal's accounts that are not removed, as a scope."""
    found = await uow.accounts.list(AccountScope.of(principal))
    return AccountScope(frozenset(a.account_id for a in found if not a.is_removed))


async def _live_account(uow: UnitOfWork, principal: Principal, strategy: Strategy) -> bool:
    if not await granted(uow, principal, strategy.account_id):
        return False
    account = await uow.accounts.get(strategy.account_id)
    return account is not None and not account.is_removed


def refuse_scripts(principal: Principal) -> None:
    """Refuse a change asked with a key bound to a strategy (a script's key)."""
    if principal.is_script:
        raise PermissionDenied(
            "an API key bound to a strategy may place orders, not change strategies or"
            " portfolios; use a person's key or token",
            details={"key_strategy_id": principal.strategy_id},
        )


class StrategyService:
    """The strategies of the caller's accounts."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def list_strategies(
        self, principal: Principal, account_id: AccountId | None
    ) -> list[Strategy]:
        """Return the visible strategies (of one account, if named), by account."""
        async with self._uow() as uow:
            if account_id is not None:
                await visible_account(uow, principal, account_id)
                return await uow.strategies.list(AccountScope(frozenset({account_id})))
            return await uow.strategies.list(await visible_accounts(uow, principal))

    async def get_strategy(self, principal: Principal, strategy_id: StrategyId) -> Strategy:
        async with self._uow() as uow:
            return await visible_strategy(uow, principal, strategy_id)

    async def create_strategy(
        self, principal: Principal, account_id: AccountId, name: str
    ) -> Strategy:
        """Add a strategy to a visible account; a name the account uses already is ``Conflict``."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            await visible_account(uow, principal, account_id)
            await _check_name_free(uow, account_id, name)
            strategy = Strategy(StrategyId(new_ulid()), account_id, name, False, self._now())
            await uow.strategies.add(strategy)
            await uow.commit()
        return strategy

    async def update_strategy(
        self,
        principal: Principal,
        strategy_id: StrategyId,
        name: str | None,
        archived: bool | None,
    ) -> Strategy:
        """Rename, archive or restore a strategy (the default one is never archived)."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            strategy = await visible_strategy(uow, principal, strategy_id)
            if name is not None and name != strategy.name:
                await _check_name_free(uow, strategy.account_id, name)
                strategy = strategy.renamed(name)
            if archived is not None:
                strategy = strategy.archived(self._now()) if archived else strategy.restored()
            await uow.strategies.save(strategy)
            await uow.commit()
        return strategy

    async def delete_strategy(self, principal: Principal, strategy_id: StrategyId) -> None:
        """Delete a strategy with no open orders or positions; its history stays, hidden."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            strategy = await visible_strategy(uow, principal, strategy_id)
            deleted = strategy.deleted(self._now())  # the default strategy refuses first
            await _check_nothing_open(uow, strategy)
            await uow.strategies.save(deleted)
            await uow.portfolios.detach_everywhere(strategy_id)
            await uow.commit()

    def _now(self) -> datetime:
        return self._clock.now()


async def _check_name_free(uow: UnitOfWork, account_id: AccountId, name: str) -> None:
    """Refuse a name a live strategy of the account holds (the unique index guards a race)."""
    taken = await uow.strategies.list(AccountScope(frozenset({account_id})))
    if any(s.name == name for s in taken):
        raise Conflict(
            f"account {account_id} has a strategy named {name!r}",
            details={"account_id": account_id, "name": name, "reason": "name_taken"},
        )


async def _check_nothing_open(uow: UnitOfWork, strategy: Strategy) -> None:
    unsettled = await uow.orders.list_unsettled(strategy.account_id)
    orders = sum(1 for order in unsettled if order.strategy_id == strategy.strategy_id)
    positions = await uow.strategies.open_positions(strategy.strategy_id)
    if orders or positions:
        raise Conflict(
            f"strategy {strategy.strategy_id} has {orders} open orders and {positions} open"
            " positions; close them (or archive the strategy) first",
            details={
                "strategy_id": strategy.strategy_id,
                "reason": "open_orders" if orders else "open_positions",
                "open_orders": orders,
                "open_positions": positions,
            },
        )
