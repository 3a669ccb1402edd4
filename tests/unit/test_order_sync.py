"""The order sync worker: one order-book fetch per account with unsettled orders."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from order_service.domain.account import Principal
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from order_service.entrypoints.workers.registry import build_supervisor
from order_service.errors import AuthenticationError, BrokerOutcomeUnknown, BrokerUnavailable
from order_service.services.ports import OrderFilter
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import OTHER_ACCOUNT, World, eventually

pytestmark = pytest.mark.asyncio


def drift(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


async def resting(world: World, principal: Principal, account_id: str = ACCOUNT) -> Order:
    request = make_limit_request(account_id=account_id)
    order = (await world.services.orders.place_order(principal, request, None)).order
    assert order.broker_order_id is not None
    return order


def status_of(world: World, order: Order) -> OrderStatus:
    return world.store.orders[order.order_id].status


async def test_a_pass_applies_the_brokers_reports(world: World) -> None:
    order = await resting(world, world.trader)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    before = drift("order_status")

    await OrderSyncWorker(world.services).run_once()

    assert status_of(world, order) is OrderStatus.COMPLETE
    assert drift("order_status") == before + 1
    assert world.broker.calls["orders"] == 1


async def test_the_interval_comes_from_the_settings(world: World) -> None:
    worker = OrderSyncWorker(world.services)
    assert worker.interval == world.services.settings.sync_interval_seconds
    assert worker.name == "order_sync"


async def test_an_unreachable_broker_for_one_account_does_not_stop_the_others(
    world: World, outsider: Principal
) -> None:
    mine = await resting(world, world.trader)
    theirs = await resting(world, outsider, OTHER_ACCOUNT)
    world.broker.fail_next("orders", BrokerUnavailable())  # PAPER1 is synced first

    with pytest.raises(BrokerUnavailable):
        await OrderSyncWorker(world.services).run_once()

    assert status_of(world, mine) is OrderStatus.PENDING
    assert status_of(world, theirs) is OrderStatus.OPEN


async def test_an_expected_error_is_logged_and_the_pass_goes_on(
    world: World, outsider: Principal
) -> None:
    mine = await resting(world, world.trader)
    theirs = await resting(world, outsider, OTHER_ACCOUNT)
    world.broker.fail_next("orders", AuthenticationError())

    await OrderSyncWorker(world.services).run_once()

    assert status_of(world, mine) is OrderStatus.PENDING
    assert status_of(world, theirs) is OrderStatus.OPEN


async def test_the_supervised_sync_settles_orders(world: World) -> None:
    order = await resting(world, world.trader)
    supervisor = build_supervisor(world.services)

    await supervisor.start()
    await eventually(lambda: status_of(world, order) is OrderStatus.OPEN)
    await supervisor.stop()

    assert supervisor.status() == {"order_sync": "stopped", "trade_sync": "stopped"}


async def test_the_sync_publishes_how_many_orders_are_unknown_and_for_how_long(
    world: World,
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"))
    await world.services.orders.place_order(world.trader, make_request(), None)
    world.clock.advance(12)  # within the grace window: still unknown, not yet failed

    await OrderSyncWorker(world.services).run_once()

    assert REGISTRY.get_sample_value("order_service_orders_unknown") == 1
    assert REGISTRY.get_sample_value("order_service_order_unknown_age_seconds") == 12


async def test_a_slow_pass_stretches_the_interval_within_a_ceiling_and_a_quick_one_restores_it(
    world: World,
) -> None:
    ticks = iter([100.0, 100.5, 200.0, 205.0, 300.0, 300.001])  # 0.5 s, 5 s, then 1 ms passes
    worker = OrderSyncWorker(world.services, monotonic=lambda: next(ticks))
    base = worker.interval

    await worker.run_once()
    assert worker.interval == pytest.approx(4.5)  # 0.5 s of work in every 5 s at most
    await worker.run_once()
    assert worker.interval == base * 10  # never slower than ten base intervals
    await worker.run_once()
    assert worker.interval == base


async def test_every_account_is_synced_even_when_one_broker_is_down(world: World) -> None:
    """One account's outage must not hold the others back; the pass still reports it."""
    await world.services.orders.place_order(world.trader, make_request(), None)
    world.broker.fail_next("orders", BrokerUnavailable("down"))
    with pytest.raises(BrokerUnavailable):
        await OrderSyncWorker(world.services).run_once()
    await OrderSyncWorker(world.services).run_once()
    orders = await world.services.orders.list_orders(world.trader, OrderFilter())
    assert {order.status for order in orders} == {OrderStatus.COMPLETE}
