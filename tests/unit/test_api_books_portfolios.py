"""Positions and P&L by portfolio: a portfolio's are its strategies', a strategy counts in each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from order_service.domain.ids import AccountId, PortfolioId, StrategyId
from order_service.domain.values import Product, TransactionType
from order_service.errors import NotFound
from order_service.services.book_lines import GroupBy
from tests.factories import make_limit_request
from tests.unit.answers import body
from tests.unit.conftest import OTHER_ACCOUNT, World, add_trader

pytestmark = pytest.mark.asyncio
DAY = "2026-11-30"  # the FakeClock's day (09:30 IST), under the schedule of 2026-04-01
ACCOUNT = AccountId("PAPER1")


async def trade(
    world: World, strategy_id: StrategyId, side: TransactionType, price: str, symbol: str = "INFY"
) -> None:
    """10 of ``symbol`` MIS for the strategy, filled whole at ``price``, in the ledger."""
    request = make_limit_request(
        transaction_type=side,
        price=Decimal(price),
        quantity=10,
        product=Product.MIS,
        tradingsymbol=symbol,
        strategy_id=strategy_id,
    )
    order = (await world.services.orders.place_order(world.trader, request, None, force=True)).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(ACCOUNT)


async def books(world: World) -> tuple[StrategyId, StrategyId, PortfolioId, PortfolioId]:
    """Strategies alpha and beta; portfolio "both" holds them, portfolio "alpha only" alpha."""
    strategies, portfolios = world.services.strategies, world.services.portfolios
    alpha = (await strategies.create_strategy(world.trader, ACCOUNT, "alpha")).strategy_id
    beta = (await strategies.create_strategy(world.trader, ACCOUNT, "beta")).strategy_id
    both = (await portfolios.create_portfolio(world.trader, "both")).portfolio_id
    alone = (await portfolios.create_portfolio(world.trader, "alpha only")).portfolio_id
    for portfolio_id, strategy_id in ((both, alpha), (both, beta), (alone, alpha)):
        await portfolios.attach(world.trader, portfolio_id, strategy_id)
    return alpha, beta, both, alone


async def test_a_portfolios_pnl_sums_its_strategies_and_a_shared_one_counts_in_each(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta, both, alone = await books(world)
    for strategy_id in (alpha, beta):  # the same round trip in each strategy
        await trade(world, strategy_id, TransactionType.BUY, "1500.00")
        await trade(world, strategy_id, TransactionType.SELL, "1510.00")

    params = {"group_by": "portfolio", "from": DAY, "to": DAY}
    answer = body(await trader_api.get("/api/v1/pnl", params=params))

    lines = {line["portfolio_id"]: line for line in answer["items"]}
    assert set(lines) == {both, alone}  # the default portfolio holds no fills
    # Each round trip: realised 10 x (1510 - 1500) = 100.00; its two executed orders cost
    # 16.21 (brokerage 9.03, STT 4, exchange 0.90, SEBI 0.04, stamp 0.45, GST 1.79; worked
    # out in test_api_books). "alpha only" is one round trip, "both" two.
    assert Decimal(lines[alone]["realised"]) == Decimal(100)
    assert Decimal(lines[alone]["total_charges"]) == Decimal("16.21")
    assert Decimal(lines[alone]["net"]) == Decimal("83.79")
    assert Decimal(lines[both]["realised"]) == Decimal(200)
    assert Decimal(lines[both]["charges"]["brokerage"]) == Decimal("18.06")
    assert Decimal(lines[both]["total_charges"]) == Decimal("32.42")
    assert Decimal(lines[both]["net"]) == Decimal("167.58")
    assert all(line["account_id"] is None for line in lines.values())  # they span accounts
    assert all(line["strategy_id"] is None for line in lines.values())


async def test_a_portfolios_positions_are_its_strategies_each_under_its_key(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta, both, alone = await books(world)
    await trade(world, alpha, TransactionType.BUY, "1500.00")
    await trade(world, beta, TransactionType.BUY, "3000.00", symbol="TCS")

    params = {"group_by": "portfolio", "day": DAY}
    lines = body(await trader_api.get("/api/v1/positions", params=params))

    held = sorted((p["portfolio_id"], p["strategy_id"], p["net"]["tradingsymbol"]) for p in lines)
    assert held == sorted([(both, alpha, "INFY"), (both, beta, "TCS"), (alone, alpha, "INFY")])
    assert all(p["account_id"] == "PAPER1" for p in lines)
    assert {p["net"]["quantity"] for p in lines} == {10}


async def test_the_default_portfolio_holds_orders_placed_without_a_strategy(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    default = await world.services.strategies.list_strategies(world.trader, ACCOUNT)
    await trade(world, default[0].strategy_id, TransactionType.BUY, "1500.00")
    (portfolio,) = await world.services.portfolios.list_portfolios(world.trader)

    params = {"group_by": "portfolio", "day": DAY}
    (line,) = body(await trader_api.get("/api/v1/positions", params=params))

    assert line["portfolio_id"] == portfolio.portfolio_id
    assert line["strategy_id"] == default[0].strategy_id


async def test_another_user_sees_none_of_a_portfolios_books(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    outsider, _ = await add_trader(world.services, "outsider", OTHER_ACCOUNT)
    alpha, _, both, _ = await books(world)
    await trade(world, alpha, TransactionType.BUY, "1500.00")
    spy = await world.services.portfolios.create_portfolio(outsider, "spy")
    with pytest.raises(NotFound):  # the trader's strategy does not exist for the outsider
        await world.services.portfolios.attach(outsider, spy.portfolio_id, alpha)

    day = date(2026, 11, 30)
    theirs = await world.services.books.positions(outsider, None, GroupBy.PORTFOLIO, day)
    params = {"group_by": "portfolio", "day": DAY}
    mine = body(await trader_api.get("/api/v1/positions", params=params))

    assert theirs == []
    assert both in {p["portfolio_id"] for p in mine}
    assert spy.portfolio_id not in {p["portfolio_id"] for p in mine}
