"""Modify and cancel: sent once, the cap checked first, ambiguous outcomes read back."""

from __future__ import annotations

from decimal import Decimal

import pytest
import pytest_asyncio

from order_service.domain.account import SessionState
from order_service.domain.order import MAX_MODIFICATIONS, Order, OrderChanges
from order_service.domain.status import OrderStatus
from order_service.errors import (
    AuthenticationError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    InvalidTransition,
    OrderRejected,
)
from tests.factories import ACCOUNT, LIMIT_PRICE, make_limit_request, make_request
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio

NEW_PRICE = Decimal("1519.95")


@pytest_asyncio.fixture
async def open_order(world: World) -> Order:
    """A LIMIT order resting OPEN at the broker, synced."""
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    await world.services.reconcile.sync_account(ACCOUNT)
    order = await world.services.orders.get_order(world.trader, placed.order.order_id)
    assert order.status is OrderStatus.OPEN
    return order


async def modify(world: World, order: Order, price: Decimal = NEW_PRICE) -> Order:
    return await world.services.amendments.modify_order(
        world.trader, order.order_id, OrderChanges(price=price)
    )


async def event_names(world: World, order: Order) -> list[str]:
    found = await world.services.orders.order_events(world.trader, order.order_id)
    return [event.name for event in found]


async def test_a_modification_is_counted_and_read_back(world: World, open_order: Order) -> None:
    modified = await modify(world, open_order)

    assert modified.status is OrderStatus.OPEN
    assert modified.modification_count == 1
    assert modified.request.price == NEW_PRICE
    assert (await event_names(world, open_order))[-3:] == [
        "OrderModifyRequested",
        "OrderModified",
        "OrderOpened",
    ]
    requested = [e for e in world.store.events if e.name == "OrderModifyRequested"]
    assert requested[0].data == {"price": "1519.95"}
    assert world.broker.calls["modify_order"] == 1
    stored = await world.services.orders.get_order(world.trader, open_order.order_id)
    assert (stored.status, stored.modification_count) == (OrderStatus.OPEN, 1)


async def test_a_pending_order_can_be_modified(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    assert placed.order.status is OrderStatus.PENDING
    assert (await modify(world, placed.order)).status is OrderStatus.OPEN


async def test_the_26th_modification_is_refused_before_sending(
    world: World, open_order: Order
) -> None:
    for step in range(MAX_MODIFICATIONS):
        await modify(world, open_order, LIMIT_PRICE - Decimal("0.05") * (step + 1))

    with pytest.raises(OrderRejected) as caught:
        await modify(world, open_order)

    assert caught.value.details["modification_count"] == MAX_MODIFICATIONS
    assert world.broker.calls["modify_order"] == MAX_MODIFICATIONS
    stored = await world.services.orders.get_order(world.trader, open_order.order_id)
    assert stored.status is OrderStatus.OPEN
    # Kite still lets the order be cancelled past the cap.
    cancelled = await world.services.amendments.cancel_order(world.trader, open_order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED


async def test_a_cancel_is_read_back_as_cancelled(world: World, open_order: Order) -> None:
    cancelled = await world.services.amendments.cancel_order(world.trader, open_order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert (await event_names(world, open_order))[-2:] == ["OrderCancelRequested", "OrderCancelled"]


async def test_a_complete_order_cannot_be_cancelled(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_request(), None)
    await world.services.reconcile.sync_account(ACCOUNT)

    with pytest.raises(InvalidTransition) as caught:
        await world.services.amendments.cancel_order(world.trader, placed.order.order_id)

    assert caught.value.details == {"state": "COMPLETE", "trigger": "request_cancel"}
    assert world.broker.calls["cancel_order"] == 0


async def test_a_cancel_of_unknown_outcome_is_confirmed_by_reading_not_resent(
    world: World, open_order: Order
) -> None:
    world.broker.fail_next("cancel_order", BrokerOutcomeUnknown(), after_accept=True)

    cancelled = await world.services.amendments.cancel_order(world.trader, open_order.order_id)

    assert cancelled.status is OrderStatus.CANCELLED
    assert world.broker.calls["cancel_order"] == 1
    assert world.broker.calls["order_history"] == 1


async def test_a_lost_cancel_that_never_landed_leaves_the_order_open(
    world: World, open_order: Order
) -> None:
    world.broker.fail_next("cancel_order", BrokerOutcomeUnknown())

    after = await world.services.amendments.cancel_order(world.trader, open_order.order_id)

    assert after.status is OrderStatus.OPEN
    assert world.broker.calls["cancel_order"] == 1


async def test_a_refused_modification_returns_the_order_to_open_and_raises(
    world: World, open_order: Order
) -> None:
    refusal = OrderRejected("Order cannot be modified", details={"broker_status": 400})
    world.broker.fail_next("modify_order", refusal)

    with pytest.raises(OrderRejected):
        await modify(world, open_order)

    stored = await world.services.orders.get_order(world.trader, open_order.order_id)
    assert (stored.status, stored.modification_count) == (OrderStatus.OPEN, 0)
    assert stored.request.price == LIMIT_PRICE
    refused = [e for e in world.store.events if e.name == "OrderAmendmentWithdrawn"]
    assert refused[0].data["error_code"] == "ORDER_REJECTED"
    assert refused[0].data["broker_status"] == 400


async def test_an_unreadable_order_is_left_to_the_sync(world: World, open_order: Order) -> None:
    world.broker.fail_next("order_history", BrokerUnavailable())

    after = await modify(world, open_order)

    assert (after.status, after.modification_count) == (OrderStatus.MODIFY_PENDING, 1)
    await world.services.reconcile.sync_account(ACCOUNT)
    stored = await world.services.orders.get_order(world.trader, open_order.order_id)
    assert stored.status is OrderStatus.OPEN


async def test_an_amendment_needs_a_live_session(world: World, open_order: Order) -> None:
    world.clock.advance(24 * 3600)
    with pytest.raises(AuthenticationError):
        await world.services.amendments.cancel_order(world.trader, open_order.order_id)
    assert world.broker.calls["cancel_order"] == 0


async def test_an_expired_session_on_cancel_requires_a_login(
    world: World, open_order: Order
) -> None:
    world.broker.fail_next("cancel_order", AuthenticationError())
    with pytest.raises(AuthenticationError):
        await world.services.amendments.cancel_order(world.trader, open_order.order_id)
    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.LOGIN_REQUIRED


async def test_a_smaller_quantity_with_a_smaller_disclosed_quantity_is_read_back(
    world: World,
) -> None:
    request = make_limit_request(quantity=20, disclosed_quantity=10)
    placed = await world.services.orders.place_order(world.trader, request, None)
    await world.services.reconcile.sync_account(ACCOUNT)

    modified = await world.services.amendments.modify_order(
        world.trader, placed.order.order_id, OrderChanges(quantity=5, disclosed_quantity=2)
    )

    assert modified.status is OrderStatus.OPEN
    assert (modified.request.quantity, modified.request.disclosed_quantity) == (5, 2)
