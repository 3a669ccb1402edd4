"""Startup reconciliation: an account takes new orders only once its books match the broker's."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.ids import AccountId, ClientOrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.startup import StartupWorker
from order_service.errors import BrokerUnavailable, ServiceUnavailableError
from tests.factories import (
    ACCOUNT,
    OTHER_ACCOUNT,
    make_limit_request,
    make_request,
    market_order_body,
)
from tests.unit.conftest import World, add_trader, api_client, log_in
from tests.unit.fake_ownership import Owns
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio
SHORT_WAIT = {"reconcile_wait_seconds": 0.2}


def held_since(world: World, account_id: AccountId = ACCOUNT) -> datetime | None:
    return world.store.accounts[account_id].reconcile_since


def short_wait(world: World) -> Services:
    """The world's services, with placements waiting only briefly for a held account."""
    settings = world.services.settings.model_copy(update=SHORT_WAIT)
    return bootstrap(
        settings,
        uow_factory=lambda: FakeUnitOfWork(world.store),
        broker=world.broker,
        clock=world.clock,
    )


async def resting(world: World) -> Order:
    order = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    assert order.broker_order_id is not None
    return order


async def test_a_login_reconciles_the_books_before_the_account_takes_orders(world: World) -> None:
    order = await resting(world)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)  # filled while we had no session
    trades_read = world.broker.calls["trades"]

    await log_in(world.services, world.trader, ACCOUNT, "second-login")

    assert world.store.orders[order.order_id].status is OrderStatus.COMPLETE
    assert world.broker.calls["trades"] == trades_read + 1
    assert held_since(world) is None
    placed = await world.services.orders.place_order(world.trader, make_request(), None)
    assert placed.created


async def test_a_login_whose_reconciliation_fails_holds_new_orders_and_sends_none(
    world: World,
) -> None:
    await resting(world)
    world.broker.fail_next("orders", BrokerUnavailable())
    await log_in(world.services, world.trader, ACCOUNT, "second-login")
    assert held_since(world) is not None
    services = short_wait(world)
    sent, stored = world.broker.calls["place_order"], len(world.store.orders)

    with pytest.raises(ServiceUnavailableError) as refused:
        await services.orders.place_order(world.trader, make_request(), None)

    assert refused.value.details["reason"] == "reconciling"
    assert (world.broker.calls["place_order"], len(world.store.orders)) == (sent, stored)


async def test_the_refusal_reaches_the_api_as_service_unavailable_with_retry_after(
    world: World,
) -> None:
    await resting(world)
    world.broker.fail_next("orders", BrokerUnavailable())
    await log_in(world.services, world.trader, ACCOUNT, "second-login")
    body = market_order_body()
    async with api_client(create_app(short_wait(world)), world.api_key) as api:
        answer = await api.post("/api/v1/orders", json=body)

    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert "reconciled" in error["message"]
    assert answer.headers["retry-after"] == "1"
    assert len(world.store.orders) == 1  # the working order only


async def test_a_placement_waiting_for_the_hold_goes_through_once_it_is_released(
    world: World,
) -> None:
    await resting(world)
    world.broker.fail_next("orders", BrokerUnavailable())
    await log_in(world.services, world.trader, ACCOUNT, "second-login")
    orders = world.services.orders  # the default wait (3 s): long enough for the release below

    placing = asyncio.create_task(orders.place_order(world.trader, make_request(), None))
    await asyncio.sleep(0.1)
    assert not placing.done()
    assert await world.services.startup.run(ACCOUNT) is not None

    placed = await asyncio.wait_for(placing, timeout=5)
    assert placed.created
    assert placed.order.broker_order_id in world.broker.book  # sent, once released


async def test_a_retried_key_gets_its_order_back_even_while_the_account_is_held(
    world: World,
) -> None:
    first = await world.services.orders.place_order(
        world.trader, make_request(), ClientOrderId("key-1")
    )
    await world.services.startup.hold(ACCOUNT)

    again = await short_wait(world).orders.place_order(
        world.trader, make_request(), ClientOrderId("key-1")
    )

    assert (again.created, again.order.order_id) == (False, first.order.order_id)


async def test_a_newer_hold_is_not_released_by_an_older_reconciliation(world: World) -> None:
    await world.services.startup.hold(ACCOUNT)
    older = held_since(world)
    world.clock.advance(5)
    # A login lands while the older reconciliation is running: its hold is newer.
    account = world.store.accounts[ACCOUNT]
    world.store.accounts[ACCOUNT] = replace(account, reconcile_since=world.clock.now())

    async with FakeUnitOfWork(world.store) as uow:
        assert older is not None
        await uow.accounts.mark_reconciled(ACCOUNT, older)
        await uow.commit()

    assert held_since(world) == world.clock.now()


async def test_a_fresh_worker_holds_and_reconciles_each_account_it_owns_once(
    settings: Settings, store: FakeStore, clock: FakeClock, broker: FakeBroker
) -> None:
    services = bootstrap(
        settings, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    outsider, _ = await add_trader(services, "outsider", OTHER_ACCOUNT)
    for principal, account_id in ((trader, ACCOUNT), (outsider, OTHER_ACCOUNT)):
        request = make_limit_request(account_id=account_id)
        await services.orders.place_order(principal, request, None)
    await services.startup.hold(OTHER_ACCOUNT)  # held, but another process's to reconcile
    services = replace(services, ownership=Owns(ACCOUNT))
    worker = StartupWorker(services)
    reads = broker.calls["orders"]

    await worker.run_once()
    assert store.accounts[ACCOUNT].reconcile_since is None
    assert broker.calls["orders"] == reads + 1  # ACCOUNT's book, not OTHER_ACCOUNT's
    await worker.run_once()

    assert broker.calls["orders"] == reads + 1  # reconciled once per process, not every pass
    assert store.accounts[OTHER_ACCOUNT].reconcile_since is not None


async def test_a_worker_retries_a_hold_it_could_not_reconcile(world: World) -> None:
    await resting(world)
    worker = StartupWorker(world.services)
    world.broker.fail_next("orders", BrokerUnavailable())

    with pytest.raises(BrokerUnavailable):
        await worker.run_once()  # the supervisor backs off on this
    assert held_since(world) is not None

    await worker.run_once()

    assert held_since(world) is None
