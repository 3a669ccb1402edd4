"""Targeted polling: the quiet unsettled orders, one order_history each, within a per-pass cap."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus
from order_service.errors import (
    BrokerAPIError,
    BrokerOutcomeUnknown,
    DataFormatError,
    RateLimitError,
)
from order_service.services.polling import PollingService, PollPolicy, PollResult
from order_service.services.ports import BrokerSession
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import World, add_trader, insert_order
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio

POLL_AFTER = 5  # settings.sync_poll_after_seconds (the default)
PER_PASS = 5  # half of the 10/s other-call budget, at one pass a second (the defaults)


class HistoryBroker(FakeBroker):
    """A FakeBroker that can answer an order's history with several entries, oldest first."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.histories: dict[BrokerOrderId, list[OrderStatusReport]] = {}
        self.asked: list[BrokerOrderId] = []

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        self.asked.append(broker_order_id)
        entries = await super().order_history(session, broker_order_id)
        return self.histories.get(broker_order_id, entries)


@pytest.fixture
def broker(clock: FakeClock) -> HistoryBroker:
    return HistoryBroker(clock)


async def open_orders(world: World, count: int) -> list[Order]:
    """Place ``count`` LIMIT orders and record them OPEN, as a book read at this moment would."""
    placed = []
    for _ in range(count):
        request = make_limit_request()
        order = (await world.services.orders.place_order(world.trader, request, None)).order
        placed.append(order)
    await world.services.reconcile.sync_account(ACCOUNT)
    return [world.store.orders[order.order_id] for order in placed]


def broker_id(order: Order) -> BrokerOrderId:
    assert order.broker_order_id is not None
    return order.broker_order_id


def stored(world: World, order: Order) -> Order:
    return world.store.orders[order.order_id]


async def poll(world: World, book_read_at: datetime) -> PollResult:
    return await world.services.polling.poll_account(ACCOUNT, book_read_at)


async def test_a_quiet_order_is_polled_once_per_period_and_a_fresh_one_not(
    world: World, broker: HistoryBroker
) -> None:
    (quiet,) = await open_orders(world, 1)
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER - 1)
    assert (await poll(world, read_at)).reads == 0

    fresh = (
        await world.services.orders.place_order(world.trader, make_limit_request(), None)
    ).order
    world.clock.advance(1)
    first = await poll(world, read_at)
    world.clock.advance(POLL_AFTER - 1)
    second = await poll(world, read_at)
    world.clock.advance(1)
    third = await poll(world, read_at)

    assert broker.asked == [broker_id(quiet), broker_id(fresh), broker_id(quiet)]
    assert (first.reads, second.reads, third.reads) == (1, 1, 1)
    assert stored(world, fresh).status is OrderStatus.OPEN  # its history said OPEN: adopted


async def test_an_order_the_book_saw_is_not_polled_until_it_has_been_quiet_since(
    world: World, broker: HistoryBroker
) -> None:
    await open_orders(world, 1)
    world.clock.advance(POLL_AFTER + 3)
    book_read_at = world.clock.now() - timedelta(seconds=2)

    assert (await poll(world, book_read_at)).reads == 0
    world.clock.advance(3)
    assert (await poll(world, book_read_at)).reads == 1


async def test_a_pass_polls_at_most_its_share_of_the_budget_longest_unseen_first(
    world: World, broker: HistoryBroker
) -> None:
    orders = await open_orders(world, PER_PASS + 2)
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    first = await poll(world, read_at)
    world.clock.advance(1)
    second = await poll(world, read_at)
    world.clock.advance(1)
    third = await poll(world, read_at)

    assert (first.reads, second.reads, third.reads) == (PER_PASS, 2, 0)
    ordered = sorted(orders, key=lambda order: order.order_id)
    assert broker.asked == [broker_id(order) for order in ordered]


async def test_the_cap_is_the_configured_share_of_the_other_call_budget_per_pass(
    settings: Settings, store: FakeStore, clock: FakeClock, broker: HistoryBroker
) -> None:
    tighter = settings.model_copy(update={"sync_poll_budget_share": 0.2})  # 2 of 10 a second
    services = bootstrap(
        tighter, uow_factory=lambda: FakeUnitOfWork(store), broker=broker, clock=clock
    )
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    for _ in range(3):
        await services.orders.place_order(trader, make_limit_request(), None)
    read_at = clock.now()
    clock.advance(POLL_AFTER)

    result = await services.polling.poll_account(ACCOUNT, read_at)

    assert result.reads == 2
    assert broker.calls["order_history"] == 2


async def test_the_newest_history_entry_is_applied_forward_only(
    world: World, broker: HistoryBroker
) -> None:
    moving, settled = await open_orders(world, 2)
    open_report = broker.book[broker_id(moving)]
    done = replace(open_report, raw_status="COMPLETE", filled_quantity=open_report.quantity)
    broker.histories[broker_id(moving)] = [open_report, done]
    stale = broker.book[broker_id(settled)]
    broker.histories[broker_id(settled)] = [replace(stale, raw_status="PUT ORDER REQ RECEIVED")]
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)
    commits = world.store.commits

    result = await poll(world, read_at)

    assert (result.reads, result.updated) == (2, 1)
    assert stored(world, moving).status is OrderStatus.COMPLETE
    assert stored(world, moving).filled_quantity == open_report.quantity
    assert stored(world, settled).status is OrderStatus.OPEN  # an older state: ignored
    assert world.store.commits == commits + 1


async def test_a_report_with_another_tag_is_drift_and_never_adopted(
    world: World, broker: HistoryBroker
) -> None:
    (order,) = await open_orders(world, 1)
    report = broker.book[broker_id(order)]
    broker.histories[broker_id(order)] = [replace(report, raw_status="COMPLETE", tag="theirs")]
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    result = await poll(world, read_at)

    assert (result.mismatched, result.updated) == (1, 0)
    assert stored(world, order).status is OrderStatus.OPEN


async def test_an_unmapped_status_is_reported_and_not_applied(
    world: World, broker: HistoryBroker
) -> None:
    (order,) = await open_orders(world, 1)
    report = broker.book[broker_id(order)]
    broker.histories[broker_id(order)] = [replace(report, raw_status="SOMETHING NEW")]
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    result = await poll(world, read_at)

    assert result.unmapped_statuses == ["SOMETHING NEW"]
    assert stored(world, order).status is OrderStatus.OPEN


@pytest.mark.parametrize(
    "refusal",
    [BrokerAPIError("no such order"), DataFormatError("not json")],
    ids=["refused", "unreadable"],
)
async def test_a_refusal_of_one_orders_history_skips_it_and_the_pass_goes_on(
    world: World, broker: HistoryBroker, refusal: Exception
) -> None:
    first, second = await open_orders(world, 2)
    broker.fill(broker_id(second))
    broker.fail_next("order_history", refusal)  # type: ignore[arg-type]
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    result = await poll(world, read_at)
    world.clock.advance(1)
    again = await poll(world, read_at)

    assert (result.refused, result.reads, result.stopped_by) == (1, 1, None)
    assert stored(world, second).status is OrderStatus.COMPLETE
    assert again.reads == 0  # the refused order went to the back of the line
    assert broker.asked == [broker_id(first), broker_id(second)]


async def test_a_call_that_was_never_sent_ends_the_pass_and_keeps_the_order_first(
    world: World, broker: HistoryBroker
) -> None:
    first, _ = await open_orders(world, 2)
    refusal = RateLimitError("no slot")
    broker.fail_next("order_history", refusal)
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    result = await poll(world, read_at)
    world.clock.advance(1)
    again = await poll(world, read_at)

    assert (result.stopped_by, result.reads) == (refusal, 0)
    assert broker.calls["order_history"] == 3
    assert again.reads == 2
    assert broker.asked[1] == broker_id(first)


async def test_a_logged_out_account_is_not_polled(world: World, broker: HistoryBroker) -> None:
    await open_orders(world, 1)
    world.store.accounts[ACCOUNT].require_login()
    read_at = world.clock.now()
    world.clock.advance(POLL_AFTER)

    result = await poll(world, read_at)

    assert result == PollResult()
    assert broker.calls["order_history"] == 0


async def test_an_unknown_order_asks_for_the_book_when_quiet_and_when_its_grace_is_over(
    world: World, broker: HistoryBroker
) -> None:
    broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"))
    await world.services.orders.place_order(world.trader, make_request(), None)
    placed_at = world.clock.now()
    grace = world.services.settings.unknown_grace_seconds

    assert await asks_for_book(world, placed_at, after=POLL_AFTER - 1) is False
    assert await asks_for_book(world, placed_at, after=POLL_AFTER) is True
    read_at = placed_at + timedelta(seconds=POLL_AFTER)
    assert await asks_for_book(world, read_at, after=grace - 1) is False
    assert await asks_for_book(world, read_at, after=grace) is True
    assert broker.calls["order_history"] == 0


@pytest.mark.parametrize("status", [OrderStatus.NEW, OrderStatus.SUBMITTING])
async def test_an_order_being_placed_asks_for_the_book_when_quiet_and_after_its_request_window(
    world: World, broker: HistoryBroker, status: OrderStatus
) -> None:
    order = await insert_order(world, status)
    placed_at = order.updated_at
    # The request window (rate wait 5 s, two sends of 7 s, 5 s slack) is within the grace.
    window = world.services.settings.unknown_grace_seconds

    assert await asks_for_book(world, placed_at, after=POLL_AFTER - 1) is False
    assert await asks_for_book(world, placed_at, after=POLL_AFTER) is True
    read_at = placed_at + timedelta(seconds=POLL_AFTER)
    assert await asks_for_book(world, read_at, after=window - 1) is False
    assert await asks_for_book(world, read_at, after=window) is True
    assert await asks_for_book(world, placed_at + timedelta(seconds=window), after=window) is False


async def asks_for_book(world: World, book_read_at: datetime, *, after: float) -> bool:
    """Whether a pass ``after`` seconds past the order's last change would ask for the book."""
    order_changed = min(o.updated_at for o in world.store.orders.values())
    world.clock.current = order_changed + timedelta(seconds=after)
    return (await poll(world, book_read_at)).book_needed


async def test_the_policy_is_decided_by_settings_alone() -> None:
    defaulted = [
        f.name
        for f in dataclasses.fields(PollPolicy)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    parameters = inspect.signature(PollingService.__init__).parameters
    assert defaulted == []
    assert parameters["policy"].default is inspect.Parameter.empty


async def test_the_defaults_poll_half_the_other_call_budget_at_one_pass_a_second(
    world: World,
) -> None:
    settings = world.services.settings
    assert settings.sync_poll_budget_share * settings.rate_other_per_second == PER_PASS
    assert settings.sync_interval_seconds == 1
    assert settings.sync_book_interval_seconds == 30
    assert settings.sync_poll_after_seconds == POLL_AFTER
