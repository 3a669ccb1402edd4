"""The order sync worker: which read each owned account gets on each pass.

The whole order book on the first pass, at the slow cadence while the account's stream is up,
every pass while it is down (within a share of the time), and when an order only the book can
find asks for it; otherwise the targeted polls of ``services.polling``.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from order_service.adapters.broker.fake import FakeBroker
from order_service.domain.account import Principal
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from order_service.entrypoints.workers.registry import build_supervisor
from order_service.entrypoints.workers.supervisor import (
    TRANSIENT,
    Backoff,
    CrashPolicy,
    Supervisor,
    WorkerState,
)
from order_service.errors import AuthenticationError, BrokerOutcomeUnknown, BrokerUnavailable
from order_service.services.ports import BrokerSession, OrderFilter
from tests.factories import ACCOUNT, make_limit_request, make_request
from tests.unit.conftest import OTHER_ACCOUNT, World, eventually, insert_order
from tests.unit.fake_ownership import Owns
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio

TINY = Backoff(initial=0.0001, maximum=0.001)
BOOK_EVERY = 30  # settings.sync_book_interval_seconds (the default)
POLL_AFTER = 5  # settings.sync_poll_after_seconds (the default)


class SlowBookBroker(FakeBroker):
    """A FakeBroker whose order book takes ``book_seconds`` of the clock to read."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.clock = clock
        self.book_seconds = 0.0

    async def orders(self, session: BrokerSession) -> list[OrderStatusReport]:
        self.clock.advance(self.book_seconds)
        return await super().orders(session)


@pytest.fixture
def broker(clock: FakeClock) -> SlowBookBroker:
    return SlowBookBroker(clock)


def drift(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


def crash_count() -> float:
    labels = {"worker": "order_sync"}
    return REGISTRY.get_sample_value("order_service_worker_crashes_total", labels) or 0.0


def reads(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("order_service_sync_reads_total", labels) or 0.0


async def resting(world: World, principal: Principal, account_id: str = ACCOUNT) -> Order:
    request = make_limit_request(account_id=account_id)
    order = (await world.services.orders.place_order(principal, request, None)).order
    assert order.broker_order_id is not None
    return order


def status_of(world: World, order: Order) -> OrderStatus:
    return world.store.orders[order.order_id].status


def count_from_here(world: World) -> None:
    """Count the broker calls from now on: logging in reads the books too."""
    world.broker.calls.clear()


async def after(world: World, worker: OrderSyncWorker, seconds: float) -> None:
    """Let ``seconds`` of the clock pass, then run one pass."""
    world.clock.advance(seconds)
    await worker.run_once()


async def test_a_pass_applies_the_brokers_reports(world: World) -> None:
    order = await resting(world, world.trader)
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    before = drift("order_status")

    count_from_here(world)
    await OrderSyncWorker(world.services).run_once()

    assert status_of(world, order) is OrderStatus.COMPLETE
    assert drift("order_status") == before + 1
    assert world.broker.calls["orders"] == 1
    assert world.broker.calls["order_history"] == 0


async def test_the_interval_comes_from_the_settings(world: World) -> None:
    worker = OrderSyncWorker(world.services)
    assert worker.interval == world.services.settings.sync_interval_seconds
    assert worker.name == "order_sync"


async def test_the_first_pass_after_start_reads_the_whole_book_even_with_the_stream_up(
    world: World,
) -> None:
    await resting(world, world.trader)
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    await OrderSyncWorker(world.services).run_once()
    assert world.broker.calls["orders"] == 1

    await OrderSyncWorker(world.services).run_once()  # a restarted worker: a fresh start

    assert world.broker.calls["orders"] == 2
    assert world.broker.calls["order_history"] == 0


async def test_with_the_stream_up_the_book_is_read_again_only_after_the_slow_cadence(
    world: World,
) -> None:
    await resting(world, world.trader)
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()

    for _ in range(BOOK_EVERY - 1):
        await after(world, worker, 1)
    assert world.broker.calls["orders"] == 1
    assert world.broker.calls["order_history"] > 0  # the safety net was polling meanwhile

    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2


async def test_a_stream_that_opens_after_a_book_read_brings_one_more_read_for_the_gap(
    world: World,
) -> None:
    """An order placed in the Kite app between the book read and the stream's opening is in
    neither: the book is read once more, not at the slow cadence."""
    await resting(world, world.trader)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()  # the stream is not up yet: a book read
    world.services.streams.mark_up(ACCOUNT)

    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2  # the read that covers the gap
    for _ in range(3):
        await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2  # then the slow cadence
    world.services.streams.mark_down(ACCOUNT)
    world.services.streams.mark_up(ACCOUNT)  # it dropped and opened again between passes
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 3


async def test_with_the_stream_down_every_pass_reads_the_whole_book(world: World) -> None:
    await resting(world, world.trader)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)

    for _ in range(8):
        await after(world, worker, 1)

    assert world.broker.calls["orders"] == 8
    assert world.broker.calls["order_history"] == 0


async def test_a_stream_that_drops_brings_back_the_book_read_on_the_next_pass(
    world: World,
) -> None:
    await resting(world, world.trader)
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 1

    world.services.streams.mark_down(ACCOUNT)
    await after(world, worker, 1)

    assert world.broker.calls["orders"] == 2


async def test_a_slow_book_read_while_the_stream_is_down_earns_a_pause_of_nine_times_its_length(
    world: World, broker: SlowBookBroker
) -> None:
    order = await resting(world, world.trader)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    broker.book_seconds = 2  # a tenth of the time: the next read starts 20 s after this one
    await worker.run_once()
    assert order.broker_order_id is not None
    broker.fill(order.broker_order_id)

    await after(world, worker, 1)
    assert (broker.calls["orders"], broker.calls["order_history"]) == (1, 0)
    await after(world, worker, POLL_AFTER - 1)  # between the reads, the quiet order is polled
    assert (broker.calls["orders"], broker.calls["order_history"]) == (1, 1)
    assert status_of(world, order) is OrderStatus.COMPLETE

    await resting(world, world.trader)
    await after(world, worker, 12)
    assert broker.calls["orders"] == 1
    await after(world, worker, 1)
    assert broker.calls["orders"] == 2


async def test_however_slow_the_book_it_is_read_at_the_slow_cadence_and_quick_reads_every_pass(
    world: World, broker: SlowBookBroker
) -> None:
    await resting(world, world.trader)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    broker.book_seconds = 5  # would earn a 50 s pause; the slow cadence caps it at 30 s

    await worker.run_once()
    await after(world, worker, BOOK_EVERY - 6)
    assert broker.calls["orders"] == 1
    broker.book_seconds = 0
    await after(world, worker, 1)
    assert broker.calls["orders"] == 2
    await after(world, worker, 1)
    assert broker.calls["orders"] == 3
    assert worker.interval == world.services.settings.sync_interval_seconds


async def test_an_unknown_order_without_a_broker_id_asks_for_the_book_when_quiet_and_at_its_grace(
    world: World,
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"))
    placed = await world.services.orders.place_order(world.trader, make_request(), None)
    lost = placed.order
    assert lost.status is OrderStatus.UNKNOWN
    assert lost.broker_order_id is None
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    grace = world.services.settings.unknown_grace_seconds
    await worker.run_once()

    await after(world, worker, POLL_AFTER - 1)
    assert world.broker.calls["orders"] == 1
    await after(world, worker, 1)  # quiet for POLL_AFTER: the book may hold it by now
    assert world.broker.calls["orders"] == 2
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2  # once per milestone, not every pass
    await after(world, worker, BOOK_EVERY - 1)  # the slow cadence, counted from that read
    assert world.broker.calls["orders"] == 3
    await after(world, worker, grace - POLL_AFTER - BOOK_EVERY - 1)
    assert world.broker.calls["orders"] == 3
    assert status_of(world, lost) is OrderStatus.UNKNOWN

    await after(world, worker, 1)  # its grace is over: the read that may fail it
    assert world.broker.calls["orders"] == 4
    assert status_of(world, lost) is OrderStatus.FAILED


async def test_an_order_left_submitting_asks_for_the_book_once_it_is_quiet(world: World) -> None:
    await insert_order(world, OrderStatus.SUBMITTING)  # as a process that died mid-send leaves it
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()

    await after(world, worker, POLL_AFTER - 1)
    assert world.broker.calls["orders"] == 1
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 2


async def test_a_broker_outage_during_polls_backs_off_and_polls_again_next_pass(
    world: World, outsider: Principal
) -> None:
    order = await resting(world, world.trader)
    theirs = await resting(world, outsider, OTHER_ACCOUNT)
    for account in (ACCOUNT, OTHER_ACCOUNT):
        world.services.streams.mark_up(account)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    for mine in (order, theirs):
        assert mine.broker_order_id is not None
        world.broker.fill(mine.broker_order_id)
    world.broker.fail_next("order_history", BrokerUnavailable("down"))  # PAPER1 polls first

    with pytest.raises(BrokerUnavailable) as raised:
        await after(world, worker, POLL_AFTER)

    assert isinstance(raised.value, TRANSIENT)  # the supervisor backs off; no crash
    assert status_of(world, order) is OrderStatus.OPEN
    assert status_of(world, theirs) is OrderStatus.COMPLETE
    await after(world, worker, 1)  # the order unread last time is first in line
    assert status_of(world, order) is OrderStatus.COMPLETE
    assert world.broker.calls["orders"] == 2


async def test_a_supervised_sync_rides_out_a_broker_outage_during_polls(world: World) -> None:
    order = await resting(world, world.trader)
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    worker.interval = 0.0
    assert order.broker_order_id is not None
    world.broker.fill(order.broker_order_id)
    world.clock.advance(POLL_AFTER)
    for _ in range(3):
        world.broker.fail_next("order_history", BrokerUnavailable("down"))
    crashes = crash_count()

    supervisor = Supervisor(
        {"order_sync": lambda: worker}, CrashPolicy(5, 300.0, TINY, stop_grace=5.0)
    )
    await supervisor.start()
    await eventually(lambda: status_of(world, order) is OrderStatus.COMPLETE)
    assert supervisor.status() == {"order_sync": WorkerState.RUNNING}
    await supervisor.stop()

    assert world.broker.calls["order_history"] == 4  # three refused, then read
    assert world.broker.calls["orders"] == 1
    assert crash_count() == crashes


async def test_reads_are_counted_by_kind(world: World) -> None:
    await resting(world, world.trader)
    await resting(world, world.trader)
    world.services.streams.mark_up(ACCOUNT)
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    books, histories = reads("book"), reads("history")

    await worker.run_once()
    await after(world, worker, POLL_AFTER)

    assert reads("book") == books + 1
    assert reads("history") == histories + 2
    assert world.broker.calls["orders"] == 1
    assert world.broker.calls["order_history"] == 2


async def test_only_owned_accounts_are_synced_and_one_taken_over_is_read_in_full(
    world: World, outsider: Principal
) -> None:
    await resting(world, world.trader)
    theirs = await resting(world, outsider, OTHER_ACCOUNT)
    for account in (ACCOUNT, OTHER_ACCOUNT):
        world.services.streams.mark_up(account)
    ownership = Owns(ACCOUNT, OTHER_ACCOUNT)
    world.services.ownership = ownership
    count_from_here(world)
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    assert world.broker.calls["orders"] == 2

    ownership.accounts = {ACCOUNT}
    assert theirs.broker_order_id is not None
    world.broker.fill(theirs.broker_order_id)
    await after(world, worker, POLL_AFTER)
    assert status_of(world, theirs) is OrderStatus.OPEN  # another process's to sync now
    assert world.broker.calls["order_history"] == 1

    ownership.accounts = {ACCOUNT, OTHER_ACCOUNT}
    await after(world, worker, 1)
    assert world.broker.calls["orders"] == 3  # back in our hands: its book first
    assert status_of(world, theirs) is OrderStatus.COMPLETE


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

    status = supervisor.status()
    assert status["order_sync"] == "stopped"
    assert set(status.values()) == {"stopped"}


async def test_the_sync_publishes_how_many_orders_are_unknown_and_for_how_long(
    world: World,
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown("timed out"))
    await world.services.orders.place_order(world.trader, make_request(), None)
    world.clock.advance(12)  # within the grace window: still unknown, not yet failed

    await OrderSyncWorker(world.services).run_once()

    assert REGISTRY.get_sample_value("order_service_orders_unknown") == 1
    assert REGISTRY.get_sample_value("order_service_order_unknown_age_seconds") == 12


async def test_every_account_is_synced_even_when_one_broker_is_down(world: World) -> None:
    """One account's outage must not hold the others back; the pass still reports it."""
    await world.services.orders.place_order(world.trader, make_request(), None)
    world.broker.fail_next("orders", BrokerUnavailable("down"))
    with pytest.raises(BrokerUnavailable):
        await OrderSyncWorker(world.services).run_once()
    await OrderSyncWorker(world.services).run_once()
    orders = await world.services.orders.list_orders(world.trader, OrderFilter())
    assert {order.status for order in orders} == {OrderStatus.COMPLETE}
