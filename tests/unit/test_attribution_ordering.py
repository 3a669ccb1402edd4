"""Exits that fill in turns, an exit learnt of late, and the orders whose missing fills hold an
exit back: each exit order stands whole where its first fill does, so nothing is sold twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from order_service.domain.attribution import AttributionPolicy
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order, OrderSource
from order_service.domain.reports import FillReport, TradeId
from order_service.domain.values import Product, TransactionType, Variety
from tests.external_reports import app_order_row
from tests.factories import ACCOUNT, make_limit_request
from tests.unit.answers import body
from tests.unit.conftest import World, log_in
from tests.unit.test_api_attribution_cases import (
    EXIT_PRICE,
    allocations,
    attribute,
    buy,
    default_of,
    held,
    sell_in_the_app,
    strategy,
)

pytestmark = pytest.mark.asyncio
_ids = iter(range(100, 999))


def app_sell(
    world: World, broker_id: BrokerOrderId, fills: list[tuple[int, datetime]], working: int = 0
) -> None:
    """The book row and trades of a MIS SELL of INFY placed in the Kite app."""
    filled = sum(quantity for quantity, _ in fills)
    world.broker.book[broker_id] = app_order_row(
        broker_id, "OPEN" if working else "COMPLETE", transaction_type="SELL", product="MIS",
        quantity=filled + working, filled_quantity=filled, pending_quantity=working,
        average_price=EXIT_PRICE, tradingsymbol="INFY",
    )  # fmt: skip
    known = {t.trade_id for t in world.broker.trade_book}
    for number, (quantity, at) in enumerate(fills):
        trade = TradeId(f"Y{broker_id}{number}")
        if trade not in known:
            world.broker.trade_book.append(
                FillReport(
                    trade,
                    broker_id,
                    "NSE",
                    "INFY",
                    "MIS",
                    TransactionType.SELL,
                    quantity,
                    EXIT_PRICE,
                    at,
                )
            )


async def synced(world: World, then: float) -> None:
    await world.services.reconcile.sync_account(ACCOUNT)
    await world.services.trades.sync_account(ACCOUNT)
    world.clock.advance(then)


def external(world: World, broker_id: BrokerOrderId) -> Order:
    (order,) = [
        o
        for o in world.store.orders.values()
        if o.source is OrderSource.EXTERNAL and o.broker_order_id == broker_id
    ]
    return order


async def test_two_exits_filling_in_turns_are_each_attributed_without_a_case(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    start = world.clock.now()
    first, second = (BrokerOrderId(f"2511300001{next(_ids)}") for _ in range(2))
    app_sell(world, first, [(2, start + timedelta(seconds=10)), (2, start + timedelta(seconds=30))])
    app_sell(world, second, [(3, start + timedelta(seconds=20))])
    await synced(world, 60)

    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 2}
    assert await held(trader_api) == {alpha: 3}


async def test_the_exit_that_began_first_is_applied_first_and_the_other_sees_what_it_took(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 5)
    start = world.clock.now()
    working, later = (BrokerOrderId(f"2511300002{next(_ids)}") for _ in range(2))
    app_sell(world, working, [(2, start)], working=3)
    app_sell(world, later, [(4, start + timedelta(seconds=5))])
    await synced(world, 61)
    # The later exit waited for the working one, then became a case.
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    app_sell(world, working, [(2, start), (3, start + timedelta(seconds=70))])
    await synced(world, 61)
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    cases = {
        c["order_id"]: c for c in body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    }
    first = (
        f"/api/v1/attribution-cases/{cases[external(world, working).order_id]['attribution_id']}"
    )
    second = f"/api/v1/attribution-cases/{cases[external(world, later).order_id]['attribution_id']}"
    assert cases[external(world, working).order_id]["reason"] == (
        "an exit that filled after this one was attributed before it"
    )
    default = await default_of(world)

    body(await trader_api.post(f"{second}/resolve", json=allocations(**{default: 4})))
    refused = await trader_api.post(f"{second}/apply")  # the one that began later waits
    assert (refused.status_code, refused.json()["error"]["details"]) == (
        409,
        {"reason": "earlier_case"},
    )
    body(await trader_api.post(f"{first}/resolve", json=allocations(**{alpha: 5})))
    body(await trader_api.post(f"{first}/apply"))
    # alpha's five went with the first exit, fills after the second one began included.
    too_much = await trader_api.post(f"{second}/resolve", json=allocations(**{alpha: 4}))
    assert too_much.status_code == 422, too_much.text
    body(await trader_api.post(f"{second}/resolve", json=allocations(**{default: 4})))
    body(await trader_api.post(f"{second}/apply"))

    assert await held(trader_api) == {default: -4}  # alpha was never sold more than it held


async def test_an_amo_placed_yesterday_and_filled_today_still_holds_an_exit_back(
    world: World,
) -> None:
    world.clock.advance(10.5 * 3600)  # 20:00 IST: an after-market order for beta
    beta = await strategy(world, "beta")
    request = make_limit_request(
        quantity=5, product=Product.MIS, strategy_id=beta, variety=Variety.AMO
    )
    placed = await world.services.orders.place_order(world.trader, request, None, force=True)
    assert placed.order.broker_order_id is not None
    world.clock.advance(13.25 * 3600)  # 09:15 IST the next day: it fills
    await log_in(world.services, world.trader, ACCOUNT)
    known = len(world.broker.trade_book)
    world.broker.fill(placed.order.broker_order_id)
    await world.services.reconcile.sync_account(ACCOUNT)
    del world.broker.trade_book[known:]  # the trade book does not list its fills yet
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    await sell_in_the_app(world, 4, then=10)

    assert (await attribute(world)).waiting == 1  # beta's five would change the holders


async def test_an_external_order_left_working_on_an_earlier_day_holds_no_exit_back(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    stale = await sell_in_the_app(world, 2, working=3, then=60)
    assert stale.broker_order_id is not None
    del world.broker.book[stale.broker_order_id]  # the next day's book does not list it
    world.clock.advance(24 * 3600)
    await log_in(world.services, world.trader, ACCOUNT)
    alpha = await strategy(world, "alpha")
    await buy(world, alpha, 10)
    await sell_in_the_app(world, 4, then=120)

    assert (await attribute(world)).attributed == {AttributionPolicy.SINGLE: 1}
    assert body(await trader_api.get("/api/v1/attribution-cases"))["items"] == []


async def test_a_fill_recorded_after_a_case_was_made_cannot_make_two_cases_wait_on_each_other(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    alpha, beta = await strategy(world, "alpha"), await strategy(world, "beta")
    await buy(world, alpha, 5)
    await buy(world, beta, 5)
    start = world.clock.now()
    first, second = (BrokerOrderId(f"2511300003{next(_ids)}") for _ in range(2))
    app_sell(world, first, [(2, start + timedelta(minutes=2))])
    app_sell(world, second, [(1, start + timedelta(minutes=1)), (3, start + timedelta(minutes=3))])
    late = world.broker.trade_book.pop(-2)  # the second exit's first fill is not listed yet
    await synced(world, 61)
    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 2}
    world.broker.trade_book.append(late)  # now it is: the second exit began first after all
    await synced(world, 1)
    cases = {
        c["order_id"]: c for c in body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    }
    ids = {b: cases[external(world, b).order_id]["attribution_id"] for b in (first, second)}
    paths = {b: f"/api/v1/attribution-cases/{ids[b]}" for b in (first, second)}
    default = await default_of(world)
    body(await trader_api.post(f"{paths[first]}/resolve", json=allocations(**{default: 2})))
    body(await trader_api.post(f"{paths[second]}/resolve", json=allocations(**{default: 3})))

    waits = await trader_api.post(f"{paths[first]}/apply")  # the second began first
    assert (waits.status_code, waits.json()["error"]["details"]) == (
        409,
        {"reason": "earlier_case"},
    )
    body(await trader_api.post(f"{paths[second]}/apply"))
    body(await trader_api.post(f"{paths[first]}/apply"))


async def test_an_entry_and_an_exit_of_the_same_second_stand_in_the_order_they_were_placed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    """The exchange's times are to the second: an exit whose fills reached the ledger before
    those of an entry placed before it, in the same second, still comes after that entry."""
    alpha, beta = await strategy(world, "alpha"), await strategy(world, "beta")
    await buy(world, alpha, 5)
    request = make_limit_request(quantity=3, product=Product.MIS, strategy_id=beta)
    placed = await world.services.orders.place_order(world.trader, request, None, force=True)
    assert placed.order.broker_order_id is not None
    known = len(world.broker.trade_book)
    world.broker.fill(placed.order.broker_order_id)
    await world.services.reconcile.sync_account(ACCOUNT)
    unlisted = world.broker.trade_book[known:]
    del world.broker.trade_book[known:]  # the entry's trade is listed late
    await sell_in_the_app(world, 6, then=0)  # the same second: its fill is stored first
    world.broker.trade_book += unlisted
    await world.services.trades.sync_account(ACCOUNT)
    world.clock.advance(10)

    assert (await attribute(world)).attributed == {AttributionPolicy.MANUAL: 1}
    (case,) = body(await trader_api.get("/api/v1/attribution-cases"))["items"]
    assert {h["strategy_id"]: h["quantity"] for h in case["holders"]} == {alpha: 5, beta: 3}
