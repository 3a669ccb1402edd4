"""The ticker worker: one stream per owned, logged-in account; reconnects, backs off, fails fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
import structlog
from prometheus_client import REGISTRY

from order_service.domain.account import Principal, SessionState
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import OrderStatus
from order_service.entrypoints.workers.supervisor import Backoff, CrashPolicy, Supervisor
from order_service.entrypoints.workers.ticker import STABLE_SECONDS, TickerWorker
from order_service.errors import AuthenticationError, BrokerUnavailable, DatabaseError
from order_service.services.order_updates import OrderUpdateService, UpdateOutcome
from order_service.services.ports import BrokerSession, OrderUpdate
from tests.factories import make_limit_request
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT, World, eventually, log_in
from tests.unit.fake_ticker import FakeConnection, FakeOrderStream
from tests.unit.fakes import FakeUnitOfWork

pytestmark = pytest.mark.asyncio


class Pauses:
    """The worker's backoff pauses, recorded instead of slept."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


class Monotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class OwnNothing:
    def owns(self, account_id: AccountId) -> bool:
        return False


@pytest.fixture
def stream(world: World) -> FakeOrderStream:
    stream = FakeOrderStream()
    world.services.order_stream = stream
    return stream


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest_asyncio.fixture
async def worker(
    world: World, stream: FakeOrderStream, pauses: Pauses, monotonic: Monotonic
) -> AsyncIterator[TickerWorker]:
    worker = TickerWorker(world.services, pause=pauses, monotonic=monotonic)
    yield worker
    await worker.close()


async def connected(worker: TickerWorker, stream: FakeOrderStream, count: int = 1) -> None:
    await worker.run_once()
    await eventually(lambda: len(stream.open()) == count)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def updates(outcome: str) -> float:
    return sample("order_service_order_updates_total", channel="ticker", outcome=outcome)


def the(stream: FakeOrderStream) -> FakeConnection:
    (connection,) = stream.open()
    return connection


async def test_a_logged_in_account_gets_one_stream_marked_up(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    gauge = sample("order_service_ticker_connections")

    await connected(worker, stream)
    await worker.run_once()

    assert len(stream.connections) == 1
    assert the(stream).session.account_id == ACCOUNT
    assert world.services.streams.is_up(ACCOUNT)
    assert sample("order_service_ticker_connections") == gauge + 1


async def test_an_update_on_the_stream_moves_our_order_and_a_replay_changes_nothing(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    broker_order_id = placed.order.broker_order_id
    assert broker_order_id is not None
    world.broker.fill(broker_order_id)
    pushed = OrderUpdate(world.broker.book[broker_order_id], user_id=ACCOUNT)
    applied, duplicates = updates("applied"), updates("duplicate")
    await connected(worker, stream)

    the(stream).push(pushed)
    await the(stream).delivered()
    after = await world.services.orders.get_order(world.trader, placed.order.order_id)
    the(stream).push(pushed, pushed)
    await the(stream).delivered()

    again = await world.services.orders.get_order(world.trader, placed.order.order_id)
    assert after.status is OrderStatus.COMPLETE
    assert again == after
    assert (updates("applied"), updates("duplicate")) == (applied + 1, duplicates + 2)


async def test_bad_and_foreign_updates_are_counted_and_the_stream_goes_on(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    foreign = OrderStatusReport(BrokerOrderId("990001"), "COMPLETE", tag="KITEWEB", quantity=1)
    outcomes = ("malformed", "unknown_account", "unknown_order")
    before = [updates(outcome) for outcome in outcomes]

    with structlog.testing.capture_logs() as logs:
        await connected(worker, stream)
        the(stream).push(
            OrderUpdate(None, user_id=ACCOUNT, problem="order 1: not a finite number: 'NaN'"),
            OrderUpdate(foreign, user_id="ZZ9999"),
            OrderUpdate(foreign, user_id=ACCOUNT),
        )
        await the(stream).delivered()

    assert [updates(outcome) for outcome in outcomes] == [count + 1 for count in before]
    refused = [log for log in logs if log["event"] == "order update refused"]
    assert [(log["account"], log["outcome"]) for log in refused] == [
        (ACCOUNT, "malformed"),
        (ACCOUNT, "unknown_account"),
    ]
    assert refused[0]["problem"] == "order 1: not a finite number: 'NaN'"
    assert (refused[1]["broker_order_id"], refused[1]["user_id"]) == ("990001", "ZZ9999")
    assert world.services.streams.is_up(ACCOUNT)
    assert len(stream.connections) == 1


async def test_our_broker_id_under_another_tag_is_counted_as_drift_never_adopted(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    broker_order_id = placed.order.broker_order_id
    assert broker_order_id is not None
    impostor = replace(world.broker.book[broker_order_id], raw_status="COMPLETE", tag="NOTOURS")
    drift = sample("order_service_reconciliation_drift_total", kind="tag_mismatch")
    mismatches = updates("mismatch")
    await connected(worker, stream)

    the(stream).push(OrderUpdate(impostor, user_id=ACCOUNT))
    await the(stream).delivered()

    after = await world.services.orders.get_order(world.trader, placed.order.order_id)
    assert after.status is OrderStatus.PENDING
    assert updates("mismatch") == mismatches + 1
    assert sample("order_service_reconciliation_drift_total", kind="tag_mismatch") == drift + 1


async def test_an_update_that_cannot_be_stored_is_counted_and_the_stream_goes_on(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    real = world.services.order_updates

    class DatabaseDown(OrderUpdateService):
        async def apply(
            self, account_id: AccountId, update: OrderUpdate, session: BrokerSession
        ) -> UpdateOutcome:
            world.services.order_updates = real  # down for one update only
            raise DatabaseError("the database is unreachable")

    world.services.order_updates = DatabaseDown(
        lambda: FakeUnitOfWork(world.store), world.broker, world.clock, world.services.trades
    )
    failed, unknown = updates("failed"), updates("unknown_order")
    foreign = OrderStatusReport(BrokerOrderId("990001"), "COMPLETE", quantity=1)
    await connected(worker, stream)

    the(stream).push(OrderUpdate(foreign), OrderUpdate(foreign))
    await the(stream).delivered()

    assert (updates("failed"), updates("unknown_order")) == (failed + 1, unknown + 1)


async def test_logging_out_stops_the_stream_and_marks_it_down(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    gauge = sample("order_service_ticker_connections")
    await connected(worker, stream)

    world.store.accounts[ACCOUNT].require_login()
    await worker.run_once()

    assert stream.open() == []
    assert not world.services.streams.is_up(ACCOUNT)
    assert sample("order_service_ticker_connections") == gauge


async def test_a_new_login_replaces_the_stream_with_one_on_the_new_token(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    await connected(worker, stream)
    first = the(stream)

    await log_in(world.services, world.trader, ACCOUNT, token="second-login")
    await connected(worker, stream)

    assert first.closed
    assert the(stream).session.access_token == "token-second-login"


async def test_losing_the_account_stops_its_stream(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    await connected(worker, stream)

    world.services.ownership = OwnNothing()
    await worker.run_once()

    assert stream.open() == []
    assert not world.services.streams.is_up(ACCOUNT)


async def test_an_update_arriving_after_the_account_was_handed_over_is_not_written(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    broker_order_id = placed.order.broker_order_id
    assert broker_order_id is not None
    world.broker.fill(broker_order_id)
    failed = updates("failed")
    await connected(worker, stream)

    world.services.ownership = OwnNothing()  # handed over; this pass has not seen it yet
    the(stream).push(OrderUpdate(world.broker.book[broker_order_id], user_id=ACCOUNT))
    await the(stream).delivered()

    after = await world.services.orders.get_order(world.trader, placed.order.order_id)
    assert after.status is OrderStatus.PENDING
    assert updates("failed") == failed + 1


async def test_a_refused_token_requires_login_and_the_stream_waits_for_a_new_one(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    stream.refuse_with = AuthenticationError("the broker refused the ticker session")
    world.broker.fail_next("margins", AuthenticationError("the token is dead"))  # confirmed

    await worker.run_once()
    await eventually(lambda: not worker.streaming())
    await worker.run_once()
    await worker.run_once()

    assert world.store.accounts[ACCOUNT].session_state is SessionState.LOGIN_REQUIRED
    assert stream.attempts == 1
    stream.refuse_with = None
    await log_in(world.services, world.trader, ACCOUNT, token="fresh")
    await connected(worker, stream)
    assert the(stream).session.access_token == "token-fresh"


async def test_a_refused_handshake_with_a_token_the_broker_accepts_only_reconnects(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    stream.refuse_with = AuthenticationError("the broker refused the ticker session")

    await worker.run_once()
    await eventually(lambda: stream.attempts >= 3)

    assert world.store.accounts[ACCOUNT].session_state is SessionState.ACTIVE
    assert worker.streaming()  # still trying, with backoff
    assert world.broker.calls["margins"] >= 1


async def test_a_ticker_that_keeps_dropping_backs_off_exponentially_with_jitter_up_to_a_cap(
    world: World, worker: TickerWorker, stream: FakeOrderStream, pauses: Pauses
) -> None:
    stream.drop_at_once = True
    reconnects = sample("order_service_ticker_reconnects_total")

    await worker.run_once()
    await eventually(lambda: len(pauses.delays) >= 8)

    settings = world.services.settings
    for attempt, delay in enumerate(pauses.delays[:8], start=1):
        ceiling = min(
            settings.ticker_backoff_max_seconds, settings.ticker_backoff_seconds * 2**attempt
        )
        assert ceiling / 2 <= delay <= ceiling
    assert pauses.delays[7] > 2 * pauses.delays[0]
    assert len(set(pauses.delays)) > 1  # jittered
    assert sample("order_service_ticker_reconnects_total") >= reconnects + 8


async def test_an_unreachable_ticker_backs_off_the_same_way(
    worker: TickerWorker, stream: FakeOrderStream, pauses: Pauses
) -> None:
    stream.refuse_with = BrokerUnavailable("connection refused")

    await worker.run_once()
    await eventually(lambda: len(pauses.delays) >= 4)

    assert pauses.delays[3] > pauses.delays[0]
    assert stream.connections == []


async def test_a_connection_that_held_starts_its_backoff_over(
    world: World,
    worker: TickerWorker,
    stream: FakeOrderStream,
    pauses: Pauses,
    monotonic: Monotonic,
) -> None:
    await connected(worker, stream)
    the(stream).drop()
    await eventually(lambda: len(stream.connections) == 2)
    stream.connections[1].drop()
    await eventually(lambda: len(stream.connections) == 3)

    monotonic.now += STABLE_SECONDS
    stream.connections[2].drop()
    await eventually(lambda: len(pauses.delays) == 3)

    first_ceiling = 2 * world.services.settings.ticker_backoff_seconds
    assert pauses.delays[1] >= first_ceiling  # the second drop in a row waits longer
    assert pauses.delays[2] <= first_ceiling  # after a long connection: a first pause again


async def test_an_unexpected_error_in_a_connection_crashes_the_worker_and_closes_every_stream(
    world: World, worker: TickerWorker, stream: FakeOrderStream, outsider: Principal
) -> None:
    await connected(worker, stream, count=2)
    mine = next(c for c in stream.open() if c.session.account_id == ACCOUNT)

    mine.fail(KeyError("a bug"))
    await eventually(lambda: mine.closed)

    with pytest.raises(KeyError, match="a bug"):
        await worker.run_once()
    assert not world.services.streams.is_up(ACCOUNT)


async def test_a_database_outage_between_passes_keeps_the_streams_up(
    world: World, worker: TickerWorker, stream: FakeOrderStream
) -> None:
    await connected(worker, stream)
    real = world.services.order_updates

    class DatabaseDown(OrderUpdateService):
        async def live_sessions(self) -> list[BrokerSession]:
            raise DatabaseError("the database is unreachable")

    world.services.order_updates = DatabaseDown(
        lambda: FakeUnitOfWork(world.store), world.broker, world.clock, world.services.trades
    )
    with pytest.raises(DatabaseError):
        await worker.run_once()
    world.services.order_updates = real

    assert len(stream.open()) == 1
    assert world.services.streams.is_up(ACCOUNT)


def supervisor_of(world: World, pauses: Pauses) -> Supervisor:
    tiny = CrashPolicy(5, 300.0, Backoff(initial=0.0001, maximum=0.001), stop_grace=5.0)
    return Supervisor({TickerWorker.name: lambda: TickerWorker(world.services, pause=pauses)}, tiny)


async def test_under_the_supervisor_a_crash_closes_every_stream_and_a_fresh_worker_reopens(
    world: World, stream: FakeOrderStream, pauses: Pauses, outsider: Principal
) -> None:
    crashes = sample("order_service_worker_crashes_total", worker="ticker")
    supervisor = supervisor_of(world, pauses)
    await supervisor.start()
    try:
        await eventually(lambda: len(stream.open()) == 2)
        first = list(stream.connections)
        first[0].fail(RuntimeError("a bug"))
        await eventually(lambda: len(stream.connections) == 4 and len(stream.open()) == 2)
    finally:
        await supervisor.stop()

    assert all(connection.closed for connection in first)  # the healthy one too
    assert sample("order_service_worker_crashes_total", worker="ticker") == crashes + 1
    assert stream.open() == []


async def test_stopping_the_supervisor_closes_every_stream_and_marks_it_down(
    world: World, stream: FakeOrderStream, pauses: Pauses, outsider: Principal
) -> None:
    gauge = sample("order_service_ticker_connections")
    supervisor = supervisor_of(world, pauses)
    await supervisor.start()
    await eventually(lambda: len(stream.open()) == 2)
    assert world.services.streams.live() == {ACCOUNT, OTHER_ACCOUNT}

    await supervisor.stop()

    assert world.services.streams.live() == frozenset()
    assert stream.open() == []
    assert sample("order_service_ticker_connections") == gauge
