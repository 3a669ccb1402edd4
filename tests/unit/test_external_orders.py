"""External orders: placed in the Kite app or web, found in the books, recorded once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from order_service.domain.account import Principal
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.status import OrderStatus
from order_service.domain.values import TransactionType
from order_service.services.ports import OrderFilter
from tests.external_reports import app_order_row
from tests.factories import ACCOUNT, make_limit_request
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio

APP_ORDER = BrokerOrderId("251130000000777")


def in_book(world: World, raw_status: str = "OPEN", **overrides: object) -> None:
    world.broker.book[APP_ORDER] = app_order_row(APP_ORDER, raw_status, **overrides)


def externals(world: World) -> list[Order]:
    return [o for o in world.store.orders.values() if o.source is OrderSource.EXTERNAL]


def a_trade(trade_id: str, quantity: int, price: str) -> FillReport:
    return FillReport(
        TradeId(trade_id),
        APP_ORDER,
        "NSE",
        "INFY",
        "CNC",
        TransactionType.BUY,
        quantity,
        Decimal(price),
    )


async def test_an_order_without_our_tag_is_recorded_as_external(world: World) -> None:
    in_book(world)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.external == 1
    assert result.drift()["external_order"] == 1
    (order,) = externals(world)
    assert (order.broker_order_id, order.status) == (APP_ORDER, OrderStatus.OPEN)
    assert (order.tag, order.user_id, order.placed_by) == (None, None, None)
    default = world.store.strategies[order.strategy_id]
    assert (default.account_id, default.is_default) == (ACCOUNT, True)
    assert order.client_order_id == f"external/{APP_ORDER}"
    assert order.request.tradingsymbol == "INFY"
    assert order.request.price == Decimal("1501.50")
    names = [e.name for e in world.store.events if e.order_id == order.order_id]
    assert names == ["ExternalOrderRecorded"]


async def test_re_seeing_an_external_order_never_duplicates_it_and_follows_its_state(
    world: World,
) -> None:
    in_book(world)
    await world.services.reconcile.sync_account(ACCOUNT)
    in_book(world, "COMPLETE", filled_quantity=10, average_price=Decimal("1501.50"))

    again = await world.services.reconcile.sync_account(ACCOUNT)
    third = await world.services.reconcile.sync_account(ACCOUNT)

    assert (again.external, again.updated, third.external, third.updated) == (0, 1, 0, 0)
    (order,) = externals(world)
    assert (order.status, order.filled_quantity) == (OrderStatus.COMPLETE, 10)


async def test_two_passes_at_once_record_it_once(world: World) -> None:
    in_book(world)

    results = await asyncio.gather(
        world.services.reconcile.sync_account(ACCOUNT),
        world.services.reconcile.sync_account(ACCOUNT),
        world.services.trades.sync_account(ACCOUNT),
    )

    assert len(externals(world)) == 1
    assert sum(r.external for r in results) == 1


async def test_an_external_order_keeps_the_tag_its_placer_gave_it_and_is_followed_by_it(
    world: World,
) -> None:
    in_book(world, tag="mystrat7")
    await world.services.reconcile.sync_account(ACCOUNT)
    in_book(world, "CANCELLED", tag="mystrat7")

    result = await world.services.reconcile.sync_account(ACCOUNT)

    (order,) = externals(world)
    assert order.request.tag == "mystrat7"
    assert order.tag is None  # never a tag of ours: no order of ours can be matched to it
    assert (result.updated, order.status) == (1, OrderStatus.CANCELLED)


async def test_a_tag_of_our_shape_that_no_order_of_ours_holds_is_someone_elses(
    world: World,
) -> None:
    in_book(world, tag="STRATEGY0001BANKNFTY")  # an algo's tag that happens to look like ours

    first = await world.services.reconcile.sync_account(ACCOUNT)
    second = await world.services.reconcile.sync_account(ACCOUNT)

    (order,) = externals(world)
    assert order.request.tag == "STRATEGY0001BANKNFTY"
    assert (first.external, second.external, first.unknown_tags) == (1, 0, 0)


async def test_a_row_with_the_tag_of_an_order_of_ours_is_drift_never_external(
    world: World,
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    in_book(world, tag=placed.order.broker_tag)  # our tag, under a broker id we do not hold

    first = await world.services.reconcile.sync_account(ACCOUNT)
    second = await world.services.reconcile.sync_account(ACCOUNT)

    assert externals(world) == []
    assert (first.unknown_tags, second.unknown_tags) == (1, 1)
    assert first.drift()["unknown_tag"] == 1


async def test_a_row_we_cannot_read_as_an_order_is_counted_and_left(world: World) -> None:
    in_book(world, exchange="NCDEX")

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.external, result.unreadable) == (0, 1)
    assert externals(world) == []


async def test_our_own_orders_are_never_taken_for_external_ones(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    orders_before = len(world.store.orders)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.external, result.unknown_tags) == (0, 0)
    assert len(world.store.orders) == orders_before


async def test_the_trade_book_records_an_external_order_with_its_fills(world: World) -> None:
    in_book(world, "COMPLETE", filled_quantity=10, average_price=Decimal("1501.35"))
    world.broker.trade_book += [a_trade("E1", 4, "1501.00"), a_trade("E2", 6, "1501.60")]

    result = await world.services.trades.sync_account(ACCOUNT)
    again = await world.services.trades.sync_account(ACCOUNT)
    after_order_pass = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.external, result.recorded, again.recorded) == (1, 2, 0)
    assert after_order_pass.external == 0
    (order,) = externals(world)
    assert [f.order_id for f in world.store.fills] == [order.order_id, order.order_id]
    assert [f.strategy_id for f in world.store.fills] == [order.strategy_id] * 2
    # The ledger is the truth: 4 x 1501.00 + 6 x 1501.60 = 15013.60 for 10.
    assert (order.filled_quantity, order.average_price) == (10, Decimal("1501.36"))


async def test_external_orders_are_visible_to_the_users_of_the_account(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    in_book(world)
    await world.services.reconcile.sync_account(ACCOUNT)
    (order,) = externals(world)

    listed = await world.services.orders.list_orders(world.trader, OrderFilter())
    page = (await trader_api.get("/api/v1/orders")).json()
    one = (await trader_api.get(f"/api/v1/orders/{order.order_id}")).json()

    assert [o.order_id for o in listed] == [order.order_id]
    assert [item["source"] for item in page["items"]] == ["external"]
    assert (one["source"], one["broker_tag"], one["broker_order_id"]) == (
        "external",
        None,
        APP_ORDER,
    )


async def test_our_orders_say_they_came_through_the_api(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)

    one = (await trader_api.get(f"/api/v1/orders/{placed.order.order_id}")).json()

    assert (one["source"], one["broker_tag"]) == ("api", placed.order.tag)


async def test_an_external_order_is_not_visible_to_other_accounts_users(
    world: World, outsider: Principal
) -> None:
    in_book(world)
    await world.services.reconcile.sync_account(ACCOUNT)

    assert await world.services.orders.list_orders(outsider, OrderFilter()) == []
