"""Placing orders exactly once, through the services built by bootstrap() around fakes."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest

from order_service.domain.account import Principal, SessionState
from order_service.domain.ids import ClientOrderId
from order_service.domain.status import OrderStatus
from order_service.errors import (
    AuthenticationError,
    BrokerAPIError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    IdempotencyConflict,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderRejected,
    OrderServiceError,
    RateLimitError,
    ServiceUnavailableError,
)
from order_service.services.orders import Placement
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import OTHER_ACCOUNT, World, log_in
from tests.unit.fakes import FakeClock, FakeStore, GatedBroker, StoreCheckingBroker

pytestmark = pytest.mark.asyncio

KEY = ClientOrderId("my-key-1")


async def place(world: World, key: ClientOrderId | None = None, **overrides: object) -> Placement:
    return await world.services.orders.place_order(world.trader, make_request(**overrides), key)


async def event_names(world: World, placement: Placement) -> list[str]:
    events = await world.services.orders.order_events(world.trader, placement.order.order_id)
    return [event.name for event in events]


async def test_a_market_order_is_accepted_then_filled_by_the_sync(world: World) -> None:
    placement = await place(world)
    assert placement.created
    assert placement.order.status is OrderStatus.PENDING
    assert placement.order.broker_order_id in world.broker.book
    assert await event_names(world, placement) == [
        "OrderRequested",
        "OrderSubmitted",
        "OrderAccepted",
    ]

    result = await world.services.reconcile.sync_account(ACCOUNT)

    assert (result.updated, result.resolved, result.failed) == (1, 0, 0)
    order = await world.services.orders.get_order(world.trader, placement.order.order_id)
    assert order.status is OrderStatus.COMPLETE
    assert (order.filled_quantity, order.average_price) == (10, Decimal("100.00"))
    assert (await event_names(world, placement))[-1] == "OrderFilled"


async def test_the_event_log_is_ordered_by_increasing_sequence(world: World) -> None:
    first, second = await place(world), await place(world)
    await world.services.reconcile.sync_account(ACCOUNT)
    for placement in (first, second):
        events = await world.services.orders.order_events(world.trader, placement.order.order_id)
        sequences = [event.sequence for event in events]
        assert len(sequences) == 4
        assert all(
            a is not None and b is not None and a < b for a, b in itertools.pairwise(sequences)
        )


async def test_the_requested_event_describes_the_order(world: World) -> None:
    placement = await place(world, KEY)
    events = await world.services.orders.order_events(world.trader, placement.order.order_id)
    assert events[0].status_before is None
    assert events[0].data == {
        "client_order_id": KEY,
        "tag": placement.order.tag,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "order_type": "MARKET",
    }


class TestCommittedBeforeSending:
    @pytest.fixture
    def broker(self, clock: FakeClock, store: FakeStore) -> StoreCheckingBroker:
        return StoreCheckingBroker(clock, store)

    async def test_the_order_is_stored_as_submitting_before_the_broker_is_called(
        self, world: World, broker: StoreCheckingBroker
    ) -> None:
        await place(world)
        assert broker.seen == [
            (OrderStatus.SUBMITTING, ["OrderRequested", "OrderSubmitted"]),
        ]


async def test_a_repeated_request_returns_the_stored_order_without_sending(world: World) -> None:
    first = await place(world, KEY)
    again = await place(world, KEY)
    assert not again.created
    assert again.order.order_id == first.order.order_id
    assert again.order.status is OrderStatus.PENDING
    assert world.broker.calls["place_order"] == 1


async def test_a_repeat_with_an_equal_price_written_differently_is_the_same_request(
    world: World,
) -> None:
    trader, orders = world.trader, world.services.orders
    first = await orders.place_order(trader, make_limit_request(price=Decimal("1520.50")), KEY)
    again = await orders.place_order(trader, make_limit_request(price=Decimal("1520.5")), KEY)
    assert again.order.order_id == first.order.order_id
    assert world.broker.calls["place_order"] == 1


async def test_a_reused_key_with_a_different_body_is_a_conflict(world: World) -> None:
    first = await place(world, KEY)
    with pytest.raises(IdempotencyConflict) as caught:
        await place(world, KEY, quantity=11)
    assert caught.value.details == {"order_id": first.order.order_id, "client_order_id": KEY}
    assert len(world.store.orders) == 1
    assert world.broker.calls["place_order"] == 1


async def test_without_a_key_every_request_is_a_new_order(world: World) -> None:
    first, second = await place(world), await place(world)
    assert first.order.order_id != second.order.order_id
    assert first.order.client_order_id == first.order.order_id
    assert world.broker.calls["place_order"] == 2


async def test_keys_are_scoped_to_an_account(world: World, outsider: Principal) -> None:
    mine = await place(world, KEY)
    theirs = await world.services.orders.place_order(
        outsider, make_request(account_id=OTHER_ACCOUNT), KEY
    )
    assert theirs.created
    assert theirs.order.order_id != mine.order.order_id


class TestConcurrentRepeats:
    @pytest.fixture
    def broker(self, clock: FakeClock) -> GatedBroker:
        return GatedBroker(clock)

    async def test_a_repeat_during_the_send_gets_the_same_order(
        self, world: World, broker: GatedBroker
    ) -> None:
        async def repeat_while_sending() -> Placement:
            await broker.entered.wait()
            placement = await place(world, KEY)
            broker.gate.set()
            return placement

        first, second = await asyncio.gather(place(world, KEY), repeat_while_sending())

        assert broker.calls["place_order"] == 1
        assert first.order.order_id == second.order.order_id
        assert (first.created, second.created) == (True, False)
        assert second.order.status is OrderStatus.SUBMITTING
        assert first.order.status is OrderStatus.PENDING


async def test_a_repeat_racing_to_insert_gets_the_stored_twin(world: World) -> None:
    world.store.yield_on_key_read = True  # both requests read "no such key" before inserting

    first, second = await asyncio.gather(place(world, KEY), place(world, KEY))

    assert world.broker.calls["place_order"] == 1
    assert len(world.store.orders) == 1
    assert first.order.order_id == second.order.order_id
    assert sorted([first.created, second.created]) == [False, True]


async def test_a_racing_repeat_with_a_different_body_is_a_conflict(world: World) -> None:
    world.store.yield_on_key_read = True

    outcomes = await asyncio.gather(
        place(world, KEY), place(world, KEY, quantity=11), return_exceptions=True
    )

    assert isinstance(outcomes[0], Placement)
    assert isinstance(outcomes[1], IdempotencyConflict)
    assert world.broker.calls["place_order"] == 1


@pytest.mark.parametrize(
    "error",
    [
        OrderRejected("RMS: blocked", details={"broker_status": 400}),
        InsufficientFundsError(details={"required": "95417.84", "available": "74251.80"}),
        InvalidSymbolError("Invalid `tradingsymbol`."),
        BrokerAPIError("Invalid `tag`."),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_refusal_fails_the_order_and_is_raised(
    world: World, error: BrokerAPIError | InvalidSymbolError
) -> None:
    world.broker.fail_next("place_order", error)

    with pytest.raises(type(error)) as caught:
        await place(world, KEY)

    assert caught.value is error
    (order,) = world.store.orders.values()
    assert order.status is OrderStatus.FAILED
    last = world.store.events[-1]
    assert last.name == "OrderFailed"
    assert last.data == {
        "error_code": error.error_code,
        "error_message": error.message,
        **error.details,
    }
    assert world.broker.book == {}


async def test_a_refused_key_is_not_sent_again(world: World) -> None:
    world.broker.fail_next("place_order", OrderRejected())
    with pytest.raises(OrderRejected):
        await place(world, KEY)
    again = await place(world, KEY)
    assert (again.created, again.order.status) == (False, OrderStatus.FAILED)
    assert world.broker.calls["place_order"] == 1


async def test_an_expired_broker_session_requires_a_login_and_fails_fast(world: World) -> None:
    world.broker.fail_next("place_order", AuthenticationError())

    with pytest.raises(AuthenticationError):
        await place(world)

    (order,) = world.store.orders.values()
    assert order.status is OrderStatus.FAILED
    account = await world.services.accounts.get_account(world.trader, ACCOUNT)
    assert account.session_state is SessionState.LOGIN_REQUIRED
    assert account.access_token is None

    with pytest.raises(AuthenticationError) as caught:
        await place(world)
    assert caught.value.details["session_state"] == "login_required"
    assert world.broker.calls["place_order"] == 1
    assert len(world.store.orders) == 1


async def test_a_token_past_0600_ist_fails_fast_without_storing(world: World) -> None:
    world.clock.advance(timedelta(hours=21).total_seconds())  # 09:30 IST -> 06:30 IST next day
    with pytest.raises(AuthenticationError):
        await place(world)
    assert world.broker.calls["place_order"] == 0
    assert world.store.orders == {}


async def test_a_new_login_lets_orders_through_again(world: World) -> None:
    world.broker.fail_next("place_order", AuthenticationError())
    with pytest.raises(AuthenticationError):
        await place(world)
    await log_in(world.services, world.trader, ACCOUNT, "fresh-token")
    assert (await place(world)).order.status is OrderStatus.PENDING


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError(retry_after=1.0),
        BrokerUnavailable("connection refused"),
        ServiceUnavailableError("the rate-budget store (Redis) is unreachable"),
    ],
    ids=["rate-limited", "unreachable", "redis-down"],
)
async def test_a_retryable_failure_does_not_consume_the_key(
    world: World, error: OrderServiceError
) -> None:
    world.broker.fail_next("place_order", error)
    with pytest.raises(type(error)):
        await place(world, KEY)

    retry = await place(world, KEY)

    assert retry.created
    assert retry.order.status is OrderStatus.PENDING
    assert world.broker.calls["place_order"] == 2
    attempts = [o for o in world.store.orders.values() if o.status is OrderStatus.FAILED]
    assert len(attempts) == 1
    assert attempts[0].client_order_id == attempts[0].order_id
    released = await world.services.orders.order_events(world.trader, attempts[0].order_id)
    assert released[-1].name == "IdempotencyKeyReleased"
    assert released[-1].data["client_order_id"] == KEY
    assert (await place(world, KEY)).order.order_id == retry.order.order_id


async def test_a_refused_order_keeps_its_key(world: World) -> None:
    world.broker.fail_next("place_order", OrderRejected("RMS: blocked"))
    with pytest.raises(OrderRejected):
        await place(world, KEY)

    repeat = await place(world, KEY)

    assert not repeat.created
    assert repeat.order.status is OrderStatus.FAILED
    assert world.broker.calls["place_order"] == 1


async def test_an_unknown_order_absent_after_the_grace_window_frees_its_key(world: World) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"))
    first = await place(world, KEY)
    assert first.order.status is OrderStatus.UNKNOWN
    world.clock.advance(world.services.settings.unknown_grace_seconds + 1)
    await world.services.reconcile.sync_account(ACCOUNT)

    retry = await place(world, KEY)

    assert retry.created
    assert retry.order.order_id != first.order.order_id
    assert retry.order.status is OrderStatus.PENDING
