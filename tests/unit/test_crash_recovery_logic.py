"""Orders a dead process left in flight are settled from the book at once; a live one's wait.

Each order records the instance id of the process that placed it (``placed_by``). A NEW or
SUBMITTING order whose placer has ended is decided by a book fetched now; one whose placer
lives keeps the request window.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import timedelta

import pytest

from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.services.ports import BrokerSession
from order_service.services.reconcile import ReconcileService
from tests.factories import ACCOUNT, make_limit_request, make_order
from tests.unit.conftest import World
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio

DEAD = "0d0d0d0d0d0d0d0d"
WINDOW = 20  # seconds a placing request may live, in these tests


class Instances:
    """A liveness double: these instance ids live; it remembers what it was asked."""

    def __init__(self, instance_id: str, *alive: str) -> None:
        self.instance_id = instance_id
        self._alive = {instance_id, *alive}
        self.asked: list[set[str]] = []

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        self.asked.append(set(instance_ids))
        return self._alive & set(instance_ids)

    def vouches(self) -> bool:
        return True


def reconcile(world: World, liveness: Instances) -> ReconcileService:
    return ReconcileService(
        lambda: FakeUnitOfWork(world.store),
        world.broker,
        world.clock,
        unknown_grace=timedelta(seconds=2),
        request_window=timedelta(seconds=WINDOW),
        liveness=liveness,
    )


async def left(world: World, status: OrderStatus, placed_by: str, *, sent: bool) -> Order:
    """Store an order as a process that died mid-placement left it; ``sent`` if it got out."""
    strategy = await FakeUnitOfWork(world.store).strategies.get_default(ACCOUNT)
    assert strategy is not None
    order = make_order(
        request=make_limit_request(),
        status=status,
        strategy_id=strategy.strategy_id,
        user_id=world.trader.user_id,
        created_at=world.clock.now(),
        updated_at=world.clock.now(),
        placed_by=placed_by,
    )
    async with FakeUnitOfWork(world.store) as uow:
        await uow.orders.add(order)
        await uow.commit()
    if sent:
        session = BrokerSession(ACCOUNT, "paper", world.broker.tokens[ACCOUNT])
        await world.broker.place_order(session, order.request, order.broker_tag)
    return order


def status_of(world: World, order: Order) -> OrderStatus:
    return world.store.orders[order.order_id].status


def last_event(world: World, order: Order) -> str:
    return [e.name for e in world.store.events if e.order_id == order.order_id][-1]


async def test_a_submitting_order_of_a_dead_process_found_at_the_broker_is_adopted_at_once(
    world: World,
) -> None:
    order = await left(world, OrderStatus.SUBMITTING, DEAD, sent=True)

    result = await reconcile(world, Instances("me")).sync_account(ACCOUNT)

    assert (result.updated, result.resolved) == (1, 1)
    assert status_of(world, order) is OrderStatus.OPEN
    assert world.store.orders[order.order_id].broker_order_id in world.broker.book


async def test_a_submitting_order_of_a_dead_process_missing_from_the_book_is_not_found(
    world: World,
) -> None:
    order = await left(world, OrderStatus.SUBMITTING, DEAD, sent=False)

    result = await reconcile(world, Instances("me")).sync_account(ACCOUNT)

    assert result.failed == 1
    assert status_of(world, order) is OrderStatus.FAILED
    assert last_event(world, order) == "OrderNotFoundAtBroker"


async def test_a_new_order_of_a_dead_process_fails_at_once_and_frees_its_key(
    world: World,
) -> None:
    order = await left(world, OrderStatus.NEW, DEAD, sent=False)

    result = await reconcile(world, Instances("me")).sync_account(ACCOUNT)
    failed_with = last_event(world, order)
    retry = await world.services.orders.place_order(
        world.trader, order.request, order.client_order_id
    )

    assert result.failed == 1
    assert status_of(world, order) is OrderStatus.FAILED
    assert failed_with == "OrderFailed"
    assert retry.created  # the key is free again: the first attempt never reached the broker


async def test_an_order_of_a_live_process_keeps_the_request_window(world: World) -> None:
    order = await left(world, OrderStatus.SUBMITTING, "other-live", sent=False)
    liveness = Instances("me", "other-live")
    service = reconcile(world, liveness)

    world.clock.advance(WINDOW - 1)
    within = await service.sync_account(ACCOUNT)
    world.clock.advance(2)
    after = await service.sync_account(ACCOUNT)

    assert (within.failed, after.failed) == (0, 1)
    assert status_of(world, order) is OrderStatus.FAILED
    assert liveness.asked == [{"other-live"}, {"other-live"}]


async def test_an_order_of_this_process_keeps_the_request_window(world: World) -> None:
    order = await left(world, OrderStatus.NEW, "me", sent=False)

    result = await reconcile(world, Instances("me")).sync_account(ACCOUNT)

    assert result.failed == 0
    assert status_of(world, order) is OrderStatus.NEW


async def test_an_order_whose_placer_is_not_recorded_keeps_the_request_window(
    world: World,
) -> None:
    order = await left(world, OrderStatus.NEW, "", sent=False)
    liveness = Instances("me")

    result = await reconcile(world, liveness).sync_account(ACCOUNT)

    assert result.failed == 0
    assert status_of(world, order) is OrderStatus.NEW
    assert liveness.asked == []  # nothing to ask about


async def test_only_placers_of_orders_in_flight_are_asked_about(world: World) -> None:
    await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await left(world, OrderStatus.SUBMITTING, DEAD, sent=True)
    liveness = Instances("me")

    await reconcile(world, liveness).sync_account(ACCOUNT)

    assert liveness.asked == [{DEAD}]


async def test_orders_record_the_process_that_placed_them(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)

    stored = world.store.orders[placed.order.order_id]
    assert stored.placed_by == world.services.liveness.instance_id
    assert stored.placed_by


async def test_the_services_settle_an_order_left_by_an_earlier_run_at_once(world: World) -> None:
    """The default liveness (one process) takes every other instance to have ended."""
    order = await left(world, OrderStatus.SUBMITTING, DEAD, sent=True)

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert result.resolved == 1
    assert status_of(world, order) is OrderStatus.OPEN
