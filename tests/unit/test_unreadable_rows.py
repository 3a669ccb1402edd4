"""A book row we cannot read blocks nothing else, and no order it may be is given up."""

from __future__ import annotations

import pytest

from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import BrokerOutcomeUnknown
from order_service.services.ports import BrokerSession
from tests.factories import ACCOUNT, make_limit_request, make_order, make_request
from tests.unit.conftest import World, log_in
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

GRACE = 60  # settings.unknown_grace_seconds in tests/conftest.py
UNKNOWN = BrokerOutcomeUnknown(details={"operation": "place_order", "reason": "ReadTimeout"})


async def status_of(world: World, order: Order) -> OrderStatus:
    return (await world.services.orders.get_order(world.trader, order.order_id)).status


async def resting(world: World) -> BrokerOrderId:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    return order.broker_order_id


async def sent_then_lost(world: World) -> tuple[Order, BrokerOrderId]:
    """An order the broker accepted whose reply never came: UNKNOWN, no broker id of ours."""
    world.broker.fail_next("place_order", UNKNOWN, after_accept=True)
    order = (await world.services.orders.place_order(world.trader, make_request(), None)).order
    assert order.status is OrderStatus.UNKNOWN
    (broker_order_id,) = [i for i, r in world.broker.book.items() if r.tag == order.tag]
    return order, broker_order_id


async def left_submitting(world: World) -> tuple[Order, BrokerOrderId]:
    """An order a crashed process sent and never recorded: SUBMITTING, its row in the book."""
    strategy = await FakeUnitOfWork(world.store).strategies.get_default(ACCOUNT)
    assert strategy is not None
    now = world.clock.now()
    order = make_order(
        status=OrderStatus.SUBMITTING,
        strategy_id=strategy.strategy_id,
        user_id=world.trader.user_id,
        created_at=now,
        updated_at=now,
    )
    async with FakeUnitOfWork(world.store) as uow:
        await uow.orders.add(order)
        await uow.commit()
    session = BrokerSession(ACCOUNT, "paper", world.broker.tokens[ACCOUNT])
    return order, await world.broker.place_order(session, order.request, order.tag)


async def test_a_pass_with_an_unreadable_row_applies_every_other_row(world: World) -> None:
    spoiled, readable = await resting(world), await resting(world)
    world.broker.fill(spoiled)
    world.broker.fill(readable)
    world.broker.spoil(spoiled)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.updated, result.failed, result.unreadable_ours) == (1, 0, 1)
    assert result.drift()["unreadable"] == 1
    orders = {o.broker_order_id: o.status for o in world.store.orders.values()}
    assert orders == {spoiled: OrderStatus.PENDING, readable: OrderStatus.COMPLETE}


async def test_an_unknown_order_whose_row_is_unreadable_is_never_given_up(world: World) -> None:
    order, broker_order_id = await sent_then_lost(world)
    world.broker.spoil(broker_order_id)
    world.clock.advance(GRACE * 10)

    held = await world.services.reconcile.sync_account(ACCOUNT)

    assert (held.failed, held.unreadable_ours) == (0, 1)
    assert await status_of(world, order) is OrderStatus.UNKNOWN
    world.broker.spoiled.clear()  # the broker sends the row well formed again
    found = await world.services.reconcile.sync_account(ACCOUNT)
    assert (found.resolved, found.failed) == (1, 0)
    assert await status_of(world, order) is OrderStatus.COMPLETE


async def test_a_submitting_order_whose_row_is_unreadable_is_never_given_up(world: World) -> None:
    order, broker_order_id = await left_submitting(world)
    world.broker.spoil(broker_order_id)
    world.clock.advance(GRACE * 10)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.failed, result.unreadable_ours) == (0, 1)
    assert await status_of(world, order) is OrderStatus.SUBMITTING


async def test_an_unreadable_row_of_another_order_does_not_shield_a_missing_one(
    world: World,
) -> None:
    world.broker.fail_next("place_order", UNKNOWN)  # never reached the broker
    missing = (await world.services.orders.place_order(world.trader, make_request(), None)).order
    world.broker.spoil(await resting(world))
    world.clock.advance(GRACE)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.failed, result.unreadable_ours) == (1, 1)
    assert await status_of(world, missing) is OrderStatus.FAILED


async def test_fills_whose_order_row_is_unreadable_wait_for_a_readable_book(
    world: World,
) -> None:
    order = (await world.services.orders.place_order(world.trader, make_request(), None)).order
    assert order.broker_order_id is not None
    world.broker.spoil(order.broker_order_id)

    waiting = await world.services.trades.sync_account(ACCOUNT)

    assert (waiting.recorded, waiting.unreadable, waiting.mismatched) == (0, 1, 0)
    assert waiting.drift()["fill_unreadable"] == 1
    world.broker.spoiled.clear()
    assert (await world.services.trades.sync_account(ACCOUNT)).recorded == 1


async def test_the_startup_reconciliation_releases_its_hold_despite_an_unreadable_row(
    world: World,
) -> None:
    order, broker_order_id = await sent_then_lost(world)
    world.broker.spoil(broker_order_id)
    world.clock.advance(GRACE * 10)

    await log_in(world.services, world.trader, ACCOUNT, "second-login")

    assert world.store.accounts[ACCOUNT].reconcile_since is None
    assert await status_of(world, order) is OrderStatus.UNKNOWN
    placed = await world.services.orders.place_order(world.trader, make_request(), None)
    assert placed.created
