"""The repository contract of strategies, portfolios, bound API keys and order origins.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how); the
concurrent ones show that an account's defaults are made once, whoever races to make them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from order_service.domain.account import EVERY_ACCOUNT, AccountScope, Principal, Strategy
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import (
    AccountId,
    ApiKeyId,
    BrokerOrderId,
    PortfolioId,
    StrategyId,
    UserId,
)
from order_service.domain.order import Order, OrderOrigin
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import TransactionType
from order_service.errors import Conflict
from order_service.services.ports import UnitOfWork
from tests.integration.db.conftest import Seed, build_account, build_order
from tests.integration.db.contract import AT, UowFactory, add_orders, get_order, read, write

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]
ACCOUNT_C = AccountId("EF9012")  # stored without any strategy
ALICE = UserId("01JALICE000000000000000000")
BOB = UserId("01JBOB00000000000000000000")
RACERS = 12


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def strategy(strategy_id: str, account_id: AccountId, name: str, **fields: object) -> Strategy:
    return replace(Strategy(StrategyId(strategy_id), account_id, name, False, AT), **fields)


def portfolio(portfolio_id: str, name: str, owner: UserId | None, **fields: object) -> Portfolio:
    return replace(Portfolio(PortfolioId(portfolio_id), name, owner, AT), **fields)


def default_candidate(account_id: AccountId, strategy_id: str) -> Strategy:
    return Strategy(StrategyId(strategy_id), account_id, "default", True, AT)


async def add_account_c(uow_factory: UowFactory) -> None:
    await write(uow_factory, lambda uow: uow.accounts.add(build_account(account_id=ACCOUNT_C)))


async def ensure_default_strategy(uow_factory: UowFactory, candidate: Strategy) -> Strategy:
    async with uow_factory() as uow:
        default = await uow.strategies.ensure_default(candidate)
        await uow.commit()
    return default


async def ensure_default_portfolio(uow_factory: UowFactory, candidate: Portfolio) -> Portfolio:
    async with uow_factory() as uow:
        default = await uow.portfolios.ensure_default(candidate)
        await uow.commit()
    return default


async def strategies_of(uow_factory: UowFactory, scope: AccountScope) -> list[Strategy]:
    found: list[Strategy] = await read(uow_factory, lambda uow: uow.strategies.list(scope))
    return found


async def test_ensure_default_strategy_keeps_the_one_the_account_has(
    uow_factory: UowFactory, seed: Seed
) -> None:
    kept = await ensure_default_strategy(uow_factory, default_candidate(seed.account_a, "01JX"))

    assert kept.strategy_id == seed.default_a
    stored = await strategies_of(uow_factory, AccountScope(frozenset({seed.account_a})))
    assert {s.strategy_id for s in stored} == {seed.default_a, seed.momentum_a}


async def test_concurrent_default_strategies_of_one_account_are_one(
    uow_factory: UowFactory,
) -> None:
    await add_account_c(uow_factory)
    candidates = [default_candidate(ACCOUNT_C, f"01JRACER{i:02d}") for i in range(RACERS)]

    winners = await asyncio.gather(*(ensure_default_strategy(uow_factory, c) for c in candidates))

    assert len({w.strategy_id for w in winners}) == 1
    stored = await strategies_of(uow_factory, AccountScope(frozenset({ACCOUNT_C})))
    assert [s.strategy_id for s in stored] == [winners[0].strategy_id]
    assert stored[0].is_default


async def test_concurrent_default_portfolios_of_one_account_are_one_holding_the_default(
    uow_factory: UowFactory, seed: Seed
) -> None:
    candidates = [
        portfolio(
            f"01JPRACER{i:02d}",
            "default",
            None,
            default_for=seed.account_a,
            strategy_ids=frozenset({seed.default_a}),
        )
        for i in range(RACERS)
    ]

    winners = await asyncio.gather(*(ensure_default_portfolio(uow_factory, c) for c in candidates))

    assert len({w.portfolio_id for w in winners}) == 1
    assert all(w.strategy_ids == {seed.default_a} for w in winners)
    everything = PortfolioScope(None, EVERY_ACCOUNT)
    stored = await read(uow_factory, lambda uow: uow.portfolios.list(everything))
    assert [p.portfolio_id for p in stored] == [winners[0].portfolio_id]


async def test_a_strategy_is_renamed_archived_and_deleted_and_a_deleted_name_is_free(
    uow_factory: UowFactory, seed: Seed
) -> None:
    swing = strategy("01JSWING", seed.account_a, "swing")
    await write(uow_factory, lambda uow: uow.strategies.add(swing))
    archived = replace(swing.renamed("swing-2"), archived_at=AT)
    await write(uow_factory, lambda uow: uow.strategies.save(archived))
    assert await read(uow_factory, lambda uow: uow.strategies.get(swing.strategy_id)) == archived

    deleted = replace(archived, deleted_at=AT + timedelta(seconds=1))
    await write(uow_factory, lambda uow: uow.strategies.save(deleted))
    again = strategy("01JSWING2", seed.account_a, "swing-2")
    await write(uow_factory, lambda uow: uow.strategies.add(again))

    listed = await strategies_of(uow_factory, AccountScope(frozenset({seed.account_a})))
    assert {s.strategy_id for s in listed} == {seed.default_a, seed.momentum_a, again.strategy_id}
    assert await read(uow_factory, lambda uow: uow.strategies.get(swing.strategy_id)) == deleted


async def test_a_live_strategys_name_cannot_be_taken_twice_in_one_account(
    uow_factory: UowFactory, seed: Seed
) -> None:
    twin = strategy("01JTWIN", seed.account_a, "momentum")
    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.strategies.add(twin))
    elsewhere = strategy("01JELSEWHERE", ACCOUNT_C, "momentum")
    await add_account_c(uow_factory)
    await write(uow_factory, lambda uow: uow.strategies.add(elsewhere))  # another account: fine


async def test_strategies_are_listed_only_for_the_accounts_in_scope(
    uow_factory: UowFactory, seed: Seed
) -> None:
    only_b = await strategies_of(uow_factory, AccountScope(frozenset({seed.account_b})))
    assert {s.account_id for s in only_b} == {seed.account_b}
    assert seed.default_b in {s.strategy_id for s in only_b}
    assert await strategies_of(uow_factory, AccountScope(frozenset())) == []


def fill_of(order: Order, trade_id: str, side: TransactionType, quantity: int) -> Fill:
    assert order.broker_order_id is not None
    report = FillReport(
        TradeId(trade_id),
        order.broker_order_id,
        "NSE",
        "INFY",
        "CNC",
        side,
        quantity,
        Decimal("1500"),
        AT,
    )
    return Fill.of(order, report, FillSource.TRADES, AT)


async def add_fills(uow_factory: UowFactory, *fills: Fill) -> None:
    async def adding(uow: UnitOfWork) -> None:
        await uow.fills.add_new(list(fills))

    await write(uow_factory, adding)


async def test_open_positions_count_the_instruments_a_strategys_fills_leave_open(
    uow_factory: UowFactory, seed: Seed
) -> None:
    order = build_order(strategy_id=seed.momentum_a, broker_order_id=BrokerOrderId("B1"))
    await add_orders(uow_factory, order)

    def open_positions(strategy_id: StrategyId) -> object:
        return read(uow_factory, lambda uow: uow.strategies.open_positions(strategy_id))

    await add_fills(uow_factory, fill_of(order, "T1", TransactionType.BUY, 10))
    await add_fills(uow_factory, fill_of(order, "T2", TransactionType.SELL, 4))
    assert await open_positions(seed.momentum_a) == 1  # type: ignore[misc]
    assert await open_positions(seed.default_a) == 0  # type: ignore[misc]

    await add_fills(uow_factory, fill_of(order, "T3", TransactionType.SELL, 6))
    assert await open_positions(seed.momentum_a) == 0  # type: ignore[misc]


async def test_a_portfolio_groups_strategies_of_several_accounts(
    uow_factory: UowFactory, seed: Seed
) -> None:
    mixed = portfolio("01JMIXED", "mixed", ALICE, strategy_ids=frozenset({seed.momentum_a}))
    await write(uow_factory, lambda uow: uow.portfolios.add(mixed))

    async def regroup(uow: UnitOfWork) -> None:
        await uow.portfolios.attach(mixed.portfolio_id, seed.default_b)
        await uow.portfolios.attach(mixed.portfolio_id, seed.default_b)  # twice: harmless
        await uow.portfolios.attach(mixed.portfolio_id, seed.default_a)
        await uow.portfolios.detach(mixed.portfolio_id, seed.default_a)

    await write(uow_factory, regroup)
    stored = await read(uow_factory, lambda uow: uow.portfolios.get(mixed.portfolio_id))
    assert stored == replace(mixed, strategy_ids=frozenset({seed.momentum_a, seed.default_b}))

    await write(uow_factory, lambda uow: uow.portfolios.detach_everywhere(seed.default_b))
    stored = await read(uow_factory, lambda uow: uow.portfolios.get(mixed.portfolio_id))
    assert stored.strategy_ids == {seed.momentum_a}


async def test_a_portfolio_is_renamed_archived_and_removed_with_its_members(
    uow_factory: UowFactory, seed: Seed
) -> None:
    mine = portfolio("01JMINE", "mine", ALICE, strategy_ids=frozenset({seed.momentum_a}))
    await write(uow_factory, lambda uow: uow.portfolios.add(mine))
    changed = replace(mine.renamed("ours"), archived_at=AT)
    await write(uow_factory, lambda uow: uow.portfolios.save(changed))
    assert await read(uow_factory, lambda uow: uow.portfolios.get(mine.portfolio_id)) == changed

    await write(uow_factory, lambda uow: uow.portfolios.remove(mine.portfolio_id))
    assert await read(uow_factory, lambda uow: uow.portfolios.get(mine.portfolio_id)) is None
    # The strategy it held is untouched.
    assert await read(uow_factory, lambda uow: uow.strategies.get(seed.momentum_a)) is not None


async def test_an_owner_has_each_portfolio_name_once_and_defaults_never_collide(
    uow_factory: UowFactory, seed: Seed
) -> None:
    await write(uow_factory, lambda uow: uow.portfolios.add(portfolio("01JP1", "swing", ALICE)))
    with pytest.raises(Conflict):
        await write(uow_factory, lambda uow: uow.portfolios.add(portfolio("01JP2", "swing", ALICE)))
    await write(uow_factory, lambda uow: uow.portfolios.add(portfolio("01JP3", "swing", BOB)))
    for account_id, portfolio_id in ((seed.account_a, "01JDA"), (seed.account_b, "01JDB")):
        default = portfolio(portfolio_id, "default", None, default_for=account_id)
        await ensure_default_portfolio(uow_factory, default)


async def test_portfolios_are_listed_for_their_owner_and_defaults_for_their_accounts(
    uow_factory: UowFactory, seed: Seed
) -> None:
    alices = portfolio("01JPA", "alice's", ALICE)
    bobs = portfolio("01JPB", "bob's", BOB)
    default_a = portfolio("01JPDA", "default", None, default_for=seed.account_a)
    default_b = portfolio("01JPDB", "default", None, default_for=seed.account_b)
    for each in (alices, bobs):
        await write(uow_factory, lambda uow, p=each: uow.portfolios.add(p))  # type: ignore[misc]
    for each in (default_a, default_b):
        await ensure_default_portfolio(uow_factory, each)

    async def listed(scope: PortfolioScope) -> list[str]:
        found = await read(uow_factory, lambda uow: uow.portfolios.list(scope))
        return [p.portfolio_id for p in found]

    alice = PortfolioScope(ALICE, AccountScope(frozenset({seed.account_a})))
    assert await listed(alice) == ["01JPA", "01JPDA"]
    assert await listed(PortfolioScope(BOB, AccountScope(frozenset()))) == ["01JPB"]
    assert await listed(PortfolioScope(None, EVERY_ACCOUNT)) == [
        "01JPA",
        "01JPB",
        "01JPDA",
        "01JPDB",
    ]


async def test_a_key_bound_to_a_strategy_authenticates_as_that_strategys_script(
    uow_factory: UowFactory, seed: Seed
) -> None:
    async def add_user_and_keys(uow: UnitOfWork) -> None:
        await uow.users.add(Principal(ALICE, "alice", account_ids=frozenset({seed.account_a})), AT)
        await uow.users.add_api_key(ALICE, ApiKeyId("01JK1"), "a" * 64, AT)
        await uow.users.add_api_key(ALICE, ApiKeyId("01JK2"), "b" * 64, AT, seed.momentum_a)

    await write(uow_factory, add_user_and_keys)

    person = await read(uow_factory, lambda uow: uow.users.by_api_key_hash("a" * 64))
    script = await read(uow_factory, lambda uow: uow.users.by_api_key_hash("b" * 64))
    keys = await read(uow_factory, lambda uow: uow.users.api_keys(ALICE))
    assert person.strategy_id is None
    assert script.strategy_id == seed.momentum_a
    assert script.account_ids == {seed.account_a}
    assert [k.strategy_id for k in keys] == [None, seed.momentum_a]


async def test_a_key_cannot_be_bound_to_a_strategy_that_does_not_exist(
    uow_factory: UowFactory,
) -> None:
    async def add_user_and_key(uow: UnitOfWork) -> None:
        await uow.users.add(Principal(ALICE, "alice"), AT)
        await uow.users.add_api_key(ALICE, ApiKeyId("01JK1"), "a" * 64, AT, StrategyId("NOPE"))

    with pytest.raises(Conflict):
        await write(uow_factory, add_user_and_key)


async def test_an_orders_origin_round_trips(uow_factory: UowFactory) -> None:
    script = build_order(origin=OrderOrigin.SCRIPT)
    manual = build_order()
    await add_orders(uow_factory, script, manual)

    assert (await get_order(uow_factory, script.order_id)).origin is OrderOrigin.SCRIPT
    assert (await get_order(uow_factory, manual.order_id)).origin is OrderOrigin.MANUAL
