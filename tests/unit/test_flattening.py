"""Flatten never overshoots a close: cancels are read back until settled, and a position is
squared off only when the broker's net agrees with our books and nothing unsettled of ours
trades it on the closing side. Through the services, with the fake broker and store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.domain.halt import Halt, HaltKind, HaltScope
from order_service.domain.ids import BrokerOrderId, UserId
from order_service.domain.order import Order
from order_service.domain.reports import PositionReport
from order_service.domain.status import OrderStatus
from order_service.domain.values import OrderType, Product, TransactionType, Variety
from order_service.errors import AuthenticationError, BrokerUnavailable
from order_service.services.cancellations import CancelConfirmation
from order_service.services.flattening import Flattening, FlattenService
from order_service.services.ports import BrokerSession
from tests.factories import make_request
from tests.unit.conftest import ACCOUNT, World
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.test_position_sync import logged_out

pytestmark = pytest.mark.asyncio
READS = 3


def fills_first(broker: FakeBroker) -> object:
    """A cancel that the order's fill beats at the exchange: answered, the order COMPLETE."""

    async def cancel_order(
        session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None:
        broker.calls["cancel_order"] += 1
        broker.fill(broker_order_id)

    return cancel_order


@pytest.fixture
def pauses() -> list[float]:
    return []


def flattener(world: World, pauses: list[float]) -> FlattenService:
    services = world.services

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    return FlattenService(
        lambda: FakeUnitOfWork(world.store), services.amendments, services.orders,
        services.books, world.broker, services.order_updates, world.clock,
        CancelConfirmation(READS, 0.3), pause,
    )  # fmt: skip


async def flatten(world: World, pauses: list[float]) -> Flattening:
    halt = Halt(HaltScope(HaltKind.ACCOUNT, ACCOUNT), UserId("u"), world.clock.now(), False)
    return await flattener(world, pauses).flatten(world.trader, halt)


async def long_with_exit(world: World) -> Order:
    """A long MIS position of 10 INFY in our books, and a resting SELL LIMIT that closes it."""
    await world.services.orders.place_order(world.trader, make_request(product=Product.MIS), None)
    await world.services.reconcile.sync_account(ACCOUNT)  # COMPLETE in our books
    await world.services.trades.sync_account(ACCOUNT)  # and its fill in the ledger
    exit_request = make_request(
        product=Product.MIS, transaction_type=TransactionType.SELL,
        order_type=OrderType.LIMIT, price=Decimal("1600.00"),
    )  # fmt: skip
    placed = await world.services.orders.place_order(world.trader, exit_request, None)
    assert placed.order.status.is_working
    return placed.order


def broker_net(world: World, quantity: int) -> None:
    price, zero = Decimal("1500.00"), Decimal(0)
    row = PositionReport("NSE", "INFY", "MIS", quantity, 0, price, price, price, zero, zero, zero)
    world.broker.position_book[:] = [row]


def sells(world: World) -> int:
    return sum(
        1
        for broker_order_id, request in world.broker._requests.items()
        if request.transaction_type is TransactionType.SELL and broker_order_id in world.broker.book
    )


async def test_a_cancel_read_back_as_cancelled_lets_the_close_go(
    world: World, pauses: list[float]
) -> None:
    exit_order = await long_with_exit(world)
    broker_net(world, 10)
    # The cancel's own read-back fails: the order is left CANCEL_PENDING until flatten reads.
    world.broker.fail_next("order_history", BrokerUnavailable("down"))

    done = await flatten(world, pauses)

    assert [c.status for c in done.cancels] == [OrderStatus.CANCEL_PENDING]
    async with FakeUnitOfWork(world.store) as uow:
        stored = await uow.orders.get(exit_order.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.CANCELLED  # read back before anything was closed
    (close,) = done.square_offs
    assert (close.net_quantity, close.error) == (10, None)
    assert close.order is not None
    assert pauses == []  # settled at the first read


async def test_an_exit_that_filled_before_its_cancel_is_not_closed_again(
    world: World, pauses: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.broker, "cancel_order", fills_first(world.broker))
    await long_with_exit(world)

    done = await flatten(world, pauses)

    assert done.square_offs == ()  # the read-back stored the exit's fill: nothing left open
    assert sells(world) == 1  # the exit alone; no square-off that would have gone short
    assert world.broker.calls["positions"] == 0


async def test_a_cancel_that_stays_unconfirmed_leaves_the_position_open(
    world: World, pauses: list[float]
) -> None:
    exit_order = await long_with_exit(world)
    broker_net(world, 10)
    for _ in range(1 + READS):  # the cancel's own read-back, then each of flatten's
        world.broker.fail_next("order_history", BrokerUnavailable("down"))

    done = await flatten(world, pauses)

    assert world.broker.calls["order_history"] == 1 + READS
    assert pauses == [0.3] * (READS - 1)
    (close,) = done.square_offs
    assert close.order is None
    assert close.error is not None
    assert close.error.error_code == "CONFLICT"
    assert close.error.details == {"order_ids": [exit_order.order_id]}
    assert sells(world) == 1


async def test_a_cancel_confirmed_at_a_later_read_lets_the_close_go(
    world: World, pauses: list[float]
) -> None:
    await long_with_exit(world)
    broker_net(world, 10)
    for _ in range(2):  # the cancel's own read-back, and flatten's first
        world.broker.fail_next("order_history", BrokerUnavailable("down"))

    done = await flatten(world, pauses)

    assert world.broker.calls["order_history"] == 3
    assert pauses == [0.3]
    (close,) = done.square_offs
    assert close.error is None
    assert sells(world) == 2  # the exit (cancelled) and the square-off


async def test_a_broker_net_unlike_our_books_is_not_closed(
    world: World, pauses: list[float]
) -> None:
    await long_with_exit(world)
    broker_net(world, 13)  # three more bought where our ledger cannot see yet

    (close,) = (await flatten(world, pauses)).square_offs

    assert close.order is None
    assert close.error is not None
    assert close.error.error_code == "CONFLICT"
    assert close.error.details == {"books_net_quantity": 10, "broker_net_quantity": 13}
    assert sells(world) == 1


async def test_unreadable_broker_positions_close_nothing(world: World, pauses: list[float]) -> None:
    await long_with_exit(world)
    world.broker.fail_next("positions", BrokerUnavailable("the broker is down"))

    (close,) = (await flatten(world, pauses)).square_offs

    assert close.order is None
    assert isinstance(close.error, BrokerUnavailable)
    assert sells(world) == 1


async def test_a_logged_out_account_is_not_squared_off_blind(
    world: World, pauses: list[float]
) -> None:
    await long_with_exit(world)
    broker_net(world, 10)
    await logged_out(world, ACCOUNT)

    done = await flatten(world, pauses)

    (close,) = done.square_offs
    assert close.order is None
    assert isinstance(close.error, AuthenticationError)
    assert world.broker.calls["positions"] == 0
