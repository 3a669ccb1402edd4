"""OrderWriter: one transaction per change; a concurrent write is retried on a fresh read."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from order_service.domain.account import Strategy
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import Conflict, StaleWrite
from order_service.services.writes import OrderWriter
from tests.factories import NOW, make_account, make_order
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio


class AlwaysStaleUnitOfWork(FakeUnitOfWork):
    """A store where somebody else always wrote the row first."""

    def __init__(self, store: FakeStore) -> None:
        super().__init__(store)

        async def save(order: Order) -> None:
            raise StaleWrite(order.order_id)

        self.orders.save = save  # type: ignore[method-assign]


async def stored_order(store: FakeStore, **overrides: object) -> Order:
    """Store an order, with the account and the strategy it belongs to."""
    order = make_order(**overrides)
    strategy = Strategy(order.strategy_id, order.account_id, "default", True, NOW)
    async with FakeUnitOfWork(store) as uow:
        await uow.accounts.add(make_account(account_id=order.account_id))
        await uow.strategies.add(strategy)
        await uow.orders.add(order)
        await uow.commit()
    return order


def submit(clock: FakeClock) -> Callable[[Order], None]:
    return lambda order: order.move(OrderTrigger.SUBMIT, clock.now())


async def test_a_change_is_stored_with_its_events(store: FakeStore, clock: FakeClock) -> None:
    order = await stored_order(store)
    saved = await OrderWriter(lambda: FakeUnitOfWork(store), clock).update(order, submit(clock))
    assert store.orders[order.order_id].status is OrderStatus.SUBMITTING
    assert [e.name for e in store.events] == ["OrderSubmitted"]
    assert saved.pending_events == []


async def test_a_stale_copy_is_reloaded_and_the_change_applied_again(
    store: FakeStore, clock: FakeClock
) -> None:
    order = await stored_order(store, status=OrderStatus.OPEN)
    writer = OrderWriter(lambda: FakeUnitOfWork(store), clock)
    stale = await FakeUnitOfWork(store).orders.get(order.order_id)
    assert stale is not None
    await writer.update(order, lambda o: o.record("OrderNoted", clock.now()))

    saved = await writer.update(stale, lambda o: o.move(OrderTrigger.REQUEST_CANCEL, clock.now()))

    assert saved.status is OrderStatus.CANCEL_PENDING
    assert [e.name for e in store.events] == ["OrderNoted", "OrderCancelRequested"]
    assert store.orders[order.order_id].version == 2


async def test_a_row_that_keeps_moving_is_a_retryable_conflict(
    store: FakeStore, clock: FakeClock
) -> None:
    order = await stored_order(store)
    writer = OrderWriter(lambda: AlwaysStaleUnitOfWork(store), clock)
    with pytest.raises(Conflict) as caught:
        await writer.update(order, lambda o: o.record("OrderNoted", clock.now()))
    assert caught.value.retryable
    assert store.events == []


async def test_a_vanished_row_is_a_conflict(store: FakeStore, clock: FakeClock) -> None:
    order = make_order()  # never stored
    writer = OrderWriter(lambda: FakeUnitOfWork(store), clock)
    with pytest.raises(Conflict, match="disappeared"):
        await writer.update(order, submit(clock))
