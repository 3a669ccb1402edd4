"""An account's default strategy and portfolio are made once, however many requests race."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.account import EVERY_ACCOUNT, Principal, Role
from order_service.domain.ids import AccountId, UserId
from order_service.domain.portfolio import PortfolioScope
from order_service.errors import Conflict
from order_service.services.accounts import AccountService
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
UowFactory = Callable[[], SqlUnitOfWork]
TRADER = Principal(UserId("01JTRADER00000000000000000"), "trader", frozenset({Role.TRADER}))
RACERS = 8


def _accounts(uow_factory: UowFactory) -> AccountService:
    clock = FakeClock()
    return AccountService(uow_factory, FakeBroker(clock), clock)


async def _add(service: AccountService, account_id: AccountId) -> bool:
    try:
        await service.add_account(TRADER, account_id, "paper", "paper-secret")
    except Conflict:
        return False
    return True


async def test_racing_additions_of_one_account_make_one_default_strategy_and_portfolio(
    uow_factory: UowFactory,
) -> None:
    service = _accounts(uow_factory)
    account_id = AccountId("RACE1")

    added = await asyncio.gather(*(_add(service, account_id) for _ in range(RACERS)))

    assert added.count(True) == 1
    async with uow_factory() as uow:
        strategies = await uow.strategies.list(EVERY_ACCOUNT)
        portfolios = await uow.portfolios.list(PortfolioScope(None, EVERY_ACCOUNT))
    (default,) = strategies
    assert default.is_default
    assert default.account_id == account_id
    (portfolio,) = portfolios
    assert portfolio.default_for == account_id
    assert portfolio.strategy_ids == {default.strategy_id}


async def test_racing_additions_of_several_accounts_give_each_its_own_defaults(
    uow_factory: UowFactory,
) -> None:
    service = _accounts(uow_factory)
    ids = [AccountId(f"RACE{i}") for i in range(RACERS)]

    assert all(await asyncio.gather(*(_add(service, account_id) for account_id in ids)))

    async with uow_factory() as uow:
        strategies = await uow.strategies.list(EVERY_ACCOUNT)
        portfolios = await uow.portfolios.list(PortfolioScope(None, EVERY_ACCOUNT))
    defaults = {s.account_id: s.strategy_id for s in strategies if s.is_default}
    assert sorted(defaults) == sorted(ids)
    assert {p.default_for: p.strategy_ids for p in portfolios} == {
        account_id: {strategy_id} for account_id, strategy_id in defaults.items()
    }
