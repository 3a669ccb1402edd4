"""The book limits through the API: max gross exposure and max daily loss, per account and per
strategy, each reckoned from the books (positions and P&L of the fill ledger); an order that
only reduces a position passes both, and nothing refused reaches the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.account import Role
from order_service.domain.ids import StrategyId
from order_service.domain.reports import QuoteReport
from order_service.domain.values import Product, TransactionType
from order_service.entrypoints.api.app import create_app
from tests.factories import make_limit_request
from tests.unit.answers import LIMIT, body, refused
from tests.unit.conftest import World, api_client

pytestmark = pytest.mark.asyncio

ACCOUNT_URL = "/api/v1/accounts/PAPER1/risk-limits"
DAY = "2026-11-30"  # the FakeClock's day
MIS = {**LIMIT, "product": "MIS"}


def quote(last: str) -> QuoteReport:
    """INFY quoted at ``last``, with a circuit band far from every price used here."""
    return QuoteReport("NSE", "INFY", Decimal(last), Decimal(last), Decimal(1), Decimal(10**5))


@pytest_asyncio.fixture
async def api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(create_app(world.services), world.api_key) as client:
        yield client


@pytest_asyncio.fixture
async def admin_api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    admin = await world.services.users.create_user("book-admin", frozenset({Role.ADMIN}))
    key = await world.services.users.create_api_key(admin.user_id)
    async with api_client(create_app(world.services), key) as client:
        yield client


async def trade(
    world: World, side: TransactionType, price: str, quantity: int, strategy: str | None = None
) -> None:
    """A MIS LIMIT order of INFY on PAPER1 filled whole at its price, its fill in the ledger."""
    terms: dict[str, Any] = {"strategy_id": StrategyId(strategy)} if strategy else {}
    request = make_limit_request(
        transaction_type=side, price=Decimal(price), quantity=quantity, product=Product.MIS,
        **terms,
    )  # fmt: skip
    placing = world.services.orders.place_order(world.trader, request, None, force=True)
    order = (await placing).order
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    await world.services.trades.sync_account(order.account_id)


def sent(world: World) -> tuple[int, int]:
    return world.broker.calls["place_order"], len(world.store.orders)


async def denied(
    api: httpx.AsyncClient, world: World, order: dict[str, Any], rule: str
) -> dict[str, Any]:
    """Place ``order``: refused by ``rule``, nothing stored and nothing sent to the broker."""
    before = sent(world)
    error = refused(await api.post("/api/v1/orders", json=order), 422, "RISK_REJECTED")
    assert error["details"]["rule"] == rule, error
    assert sent(world) == before
    return error


async def placed(api: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = body(await api.post("/api/v1/orders", json=order), 201)
    return answer


async def test_gross_exposure_counts_positions_working_orders_and_the_new_order(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1500")
    await trade(world, TransactionType.BUY, "1500.00", 10)  # long 10, marked at 1500
    await placed(api, {**MIS, "quantity": 2, "price": "1500.00"})  # rests: 2 x 1500 working
    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "20000"}))

    error = await denied(api, world, {**MIS, "quantity": 2, "price": "1520.00"},
                         "max_gross_exposure")  # fmt: skip

    # 10 x 1500 held + 2 x 1500 working + 2 x 1520 new = 15,000 + 3,000 + 3,040 = 21,040.
    assert error["details"] == {"rule": "max_gross_exposure", "limit": "20000",
                                "value": "21040.00", "scope": "account"}  # fmt: skip
    market = {**MIS, "order_type": "MARKET", "price": None, "quantity": 2}
    error = await denied(api, world, market, "max_gross_exposure")
    assert error["details"]["value"] == "21000.00"  # a MARKET order at the last price, 1500
    await placed(api, {**MIS, "quantity": 1, "price": "1520.00"})  # 19,520: within


async def test_a_short_position_counts_its_absolute_value(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1500")
    await trade(world, TransactionType.SELL, "1500.00", 10)  # short 10: 15,000 of exposure
    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "16000"}))

    sell = {**MIS, "transaction_type": "SELL", "quantity": 1, "price": "1520.00"}
    error = await denied(api, world, sell, "max_gross_exposure")
    assert error["details"]["value"] == "16520.00"
    await placed(api, {**sell, "transaction_type": "BUY"})  # a buy against a short reduces it


async def test_a_modification_raising_the_exposure_is_held_to_the_limit(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1500")
    order = await placed(api, {**MIS, "quantity": 1, "price": "1500.00"})  # rests: 1,500
    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "15000"}))
    url = f"/api/v1/orders/{order['order_id']}"

    error = refused(await api.patch(url, json={"quantity": 11}), 422, "RISK_REJECTED")
    assert (error["details"]["rule"], error["details"]["value"]) == ("max_gross_exposure",
                                                                      "16500.00")  # fmt: skip
    assert world.broker.calls["modify_order"] == 0
    body(await api.patch(url, json={"quantity": 10}))  # 15,000 in place of its own 1,500
    assert world.broker.calls["modify_order"] == 1


async def test_a_reducing_order_passes_an_exposure_already_over_the_limit(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1500")
    await trade(world, TransactionType.BUY, "1500.00", 10)
    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "10000"}))  # 15,000 held
    sell = {**MIS, "transaction_type": "SELL", "price": "1500.00"}

    await denied(api, world, {**MIS, "quantity": 1, "price": "1500.00"}, "max_gross_exposure")
    await denied(api, world, {**sell, "quantity": 11}, "max_gross_exposure")  # turns it over
    await denied(api, world, {**sell, "quantity": 1, "product": "CNC"}, "max_gross_exposure")
    await placed(api, {**sell, "quantity": 6})  # rests: 6 of the 10 are being closed
    await denied(api, world, {**sell, "quantity": 5}, "max_gross_exposure")  # 6 + 5 > 10
    await placed(api, {**sell, "quantity": 4})
    assert world.broker.calls["place_order"] == 3  # the filled buy and the two sells


async def test_the_day_s_loss_at_the_limit_stops_orders_that_add_exposure_not_exits(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1400")
    await trade(world, TransactionType.BUY, "1500.00", 20)
    await trade(world, TransactionType.SELL, "1400.00", 10)
    # Realised 10 x (1400 - 1500) = -1,000; unrealised 10 x (1400 - 1500) = -1,000; less charges.
    (line,) = body(await api.get("/api/v1/pnl", params={"from": DAY, "to": DAY}))["items"]
    net = Decimal(line["net"])
    assert Decimal(-2000) - net == Decimal(line["total_charges"]) > 0
    body(await admin_api.put(ACCOUNT_URL, json={"max_daily_loss": str(-net)}))  # at the limit

    error = await denied(api, world, {**MIS, "quantity": 1, "price": "1400.00"},
                         "max_daily_loss")  # fmt: skip
    assert error["details"] == {"rule": "max_daily_loss", "limit": str(-net),
                                "value": str(-net), "scope": "account"}  # fmt: skip
    sell = {**MIS, "transaction_type": "SELL", "price": "1400.00"}
    await denied(api, world, {**sell, "quantity": 11}, "max_daily_loss")  # would go short
    await placed(api, {**sell, "quantity": 10})  # the exit

    body(await admin_api.put(ACCOUNT_URL, json={"max_daily_loss": str(-net + Decimal("0.01"))}))
    await placed(api, {**MIS, "quantity": 1, "price": "1400.00"})  # a paisa short of it


async def test_a_strategy_s_limits_hold_its_own_book_not_its_account_s(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1500")
    new = {"account_id": "PAPER1", "name": "algo"}
    strategy = body(await api.post("/api/v1/strategies", json=new), 201)["strategy_id"]
    await trade(world, TransactionType.BUY, "1500.00", 100)  # the account's own: 150,000
    await trade(world, TransactionType.BUY, "1500.00", 2, strategy)  # the strategy's: 3,000
    url = f"/api/v1/strategies/{strategy}/risk-limits"
    body(await admin_api.put(url, json={"max_gross_exposure": "7000"}))
    mine = {**MIS, "strategy_id": strategy, "force": True, "price": "1500.00"}

    error = await denied(api, world, {**mine, "quantity": 3}, "max_gross_exposure")
    assert error["details"] == {"rule": "max_gross_exposure", "limit": "7000",
                                "value": "7500.00", "scope": "strategy"}  # fmt: skip
    await placed(api, {**mine, "quantity": 2})  # 3,000 + 3,000 working... + 0 = within
    await placed(api, {**MIS, "quantity": 50, "price": "1500.00"})  # outside the strategy

    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "200000"}))
    error = await denied(api, world, {**mine, "quantity": 1}, "max_gross_exposure")
    assert error["details"]["scope"] == "account"  # 150,000 + 3,000 + 78,000 working + 1,500


async def test_a_strategy_s_loss_stops_only_that_strategy(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    world.broker.marks["NSE:INFY"] = quote("1400")
    new = {"account_id": "PAPER1", "name": "algo"}
    strategy = body(await api.post("/api/v1/strategies", json=new), 201)["strategy_id"]
    await trade(world, TransactionType.BUY, "1500.00", 10, strategy)  # -1,000 unrealised
    url = f"/api/v1/strategies/{strategy}/risk-limits"
    body(await admin_api.put(url, json={"max_daily_loss": "500"}))
    mine = {**MIS, "strategy_id": strategy, "force": True, "price": "1400.00"}

    error = await denied(api, world, {**mine, "quantity": 1}, "max_daily_loss")
    assert error["details"]["scope"] == "strategy"
    assert Decimal(error["details"]["value"]) > 1000  # the loss, charges included
    await placed(api, {**MIS, "quantity": 1, "price": "1400.00"})  # the account's own
    await placed(api, {**mine, "transaction_type": "SELL", "quantity": 10})  # the exit


async def test_a_market_order_with_no_price_to_be_had_is_refused_not_waved_through(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    body(await admin_api.put(ACCOUNT_URL, json={"max_gross_exposure": "1000000"}))
    market = {**MIS, "order_type": "MARKET", "price": None}

    error = await denied(api, world, market, "max_gross_exposure")
    assert error["details"]["value"] is None


async def test_the_books_are_not_read_while_no_book_limit_is_set(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient, world: World
) -> None:
    async def unread(*args: object) -> None:
        raise AssertionError("the books were read")

    world.services.books.scope_book = unread  # type: ignore[method-assign]
    world.store.risk_limits.clear()
    body(await admin_api.put(ACCOUNT_URL, json={"max_quantity": 100, "max_order_value": "1000000"}))
    await placed(api, MIS)


@pytest.mark.parametrize("name", ["max_gross_exposure", "max_daily_loss"])
@pytest.mark.parametrize(
    "value", ["-1", "0", "NaN", "Infinity", "-Infinity", "1e400", True, "", "1,000"], ids=str
)
async def test_book_limits_must_be_finite_amounts_above_zero(
    admin_api: httpx.AsyncClient, world: World, name: str, value: object
) -> None:
    refused(await admin_api.put(ACCOUNT_URL, json={name: value}), 422, "INVALID_INPUT")
    assert not world.store.risk_limits


async def test_book_limits_are_stored_returned_and_cleared(
    api: httpx.AsyncClient, admin_api: httpx.AsyncClient
) -> None:
    limits = {"max_gross_exposure": "2500000.50", "max_daily_loss": 25000}
    answer = body(await admin_api.put(ACCOUNT_URL, json=limits))
    assert (answer["max_gross_exposure"], answer["max_daily_loss"]) == ("2500000.50", "25000")
    assert body(await api.get(ACCOUNT_URL))["max_daily_loss"] == "25000"

    cleared = body(await admin_api.put(ACCOUNT_URL, json={"max_daily_loss": None}))
    assert (cleared["max_gross_exposure"], cleared["max_daily_loss"]) == (None, None)
