"""Fail fast, proven per worker: every worker this process runs, under the real supervisor.

For each worker: an unexpected exception from the database is logged CRITICAL with its
traceback, counted in ``order_service_worker_crashes_total{worker}``, and a fresh instance
starts and does its work from what the database holds; a crash loop marks the worker failed
and turns ``/ready`` false, naming it; and the broker being unreachable is retried with
backoff, never counted as a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
import structlog
from prometheus_client import REGISTRY

from order_service.adapters.broker.fake import FakeBroker
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Role
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.registry import worker_factories
from order_service.entrypoints.workers.supervisor import Backoff, CrashPolicy, Supervisor, Worker
from order_service.errors import BrokerUnavailable
from order_service.services.ports import UnitOfWork
from tests.factories import ACCOUNT, make_limit_request
from tests.unit.conftest import add_trader, api_client
from tests.unit.fakes import FakeClock, FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio
TINY = Backoff(initial=0.001, maximum=0.01)
# Every worker a process runs; a new worker must be added here, so it is proven too.
WORKERS = [
    "startup_reconcile",
    "order_sync",
    "trade_sync",
    "position_sync",
    "ticker",
    "webhooks",
    "instruments",
    "handoffs",
    "attribution",
]
INJECTED = "injected database fault"


class DatabaseFaults:
    """A unit-of-work factory whose next ``armed`` units raise a programming error."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.armed = 0  # how many more units fail; -1: every one

    def __call__(self) -> UnitOfWork:
        if self.armed:
            self.armed -= 1 if self.armed > 0 else 0
            raise RuntimeError(INJECTED)
        return FakeUnitOfWork(self.store)


@dataclass
class Plant:
    services: Services
    faults: DatabaseFaults
    broker: FakeBroker
    admin_key: str


@pytest_asyncio.fixture
async def plant(settings: Settings, store: FakeStore, clock: FakeClock) -> Plant:
    faults = DatabaseFaults(store)
    broker = FakeBroker(clock)
    services = bootstrap(settings, uow_factory=faults, broker=broker, clock=clock)
    trader, _ = await add_trader(services, "trader", ACCOUNT)
    await services.orders.place_order(trader, make_limit_request(), None)  # work for the syncs
    admin = await services.users.create_user("ops", frozenset({Role.ADMIN}))
    return Plant(services, faults, broker, await services.users.create_api_key(admin.user_id))


def sample(metric: str, worker: str) -> float:
    return REGISTRY.get_sample_value(metric, {"worker": worker}) or 0.0


def one_worker(plant: Plant, name: str, max_crashes: int = 5) -> tuple[Supervisor, Counter]:
    counter = Counter(worker_factories(plant.services)[name])
    policy = CrashPolicy(max_crashes, 300.0, TINY, stop_grace=2.0)
    return Supervisor({name: counter}, policy), counter


class Counter:
    """Wraps a worker factory and counts the instances it built."""

    def __init__(self, factory: Callable[[], Worker]) -> None:
        self.factory = factory
        self.built = 0

    def __call__(self) -> Worker:
        self.built += 1
        return self.factory()


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds; fail after about five seconds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def test_every_worker_the_process_runs_is_proven_here(plant: Plant) -> None:
    assert sorted(worker_factories(plant.services)) == sorted(WORKERS)


@pytest.mark.parametrize("name", WORKERS)
async def test_an_unexpected_error_is_logged_counted_and_a_fresh_instance_takes_over(
    plant: Plant, name: str
) -> None:
    supervisor, counter = one_worker(plant, name)
    crashes = sample("order_service_worker_crashes_total", name)
    # Read before the start: the first instance crashes before any success, so a later one is
    # the fresh instance's, even if its first pass ends before the restart is seen (a worker
    # with a long interval makes no second pass within the test).
    succeeded = sample("order_service_worker_last_success_timestamp_seconds", name)
    plant.faults.armed = 1

    with structlog.testing.capture_logs() as logs:
        await supervisor.start()
        await until(lambda: sample("order_service_worker_crashes_total", name) == crashes + 1)
        await until(lambda: counter.built == 2 and not plant.faults.armed)
        await until(
            lambda: sample("order_service_worker_last_success_timestamp_seconds", name) > succeeded
        )
        await supervisor.stop()

    crashed = [e for e in logs if e["event"] == "worker crashed"]
    assert len(crashed) == 1
    assert crashed[0]["log_level"] == "critical"
    assert crashed[0]["worker"] == name
    rendered = structlog.processors.format_exc_info(None, "critical", dict(crashed[0]))
    assert "Traceback (most recent call last)" in rendered["exception"]
    assert INJECTED in rendered["exception"]
    assert supervisor.status() == {name: "stopped"}


@pytest.mark.parametrize("name", WORKERS)
async def test_a_crash_loop_marks_the_worker_failed_and_ready_false_naming_it(
    plant: Plant, name: str
) -> None:
    supervisor, _ = one_worker(plant, name, max_crashes=2)
    plant.faults.armed = -1
    await supervisor.start()
    await until(lambda: supervisor.status()[name] == "failed")
    plant.faults.armed = 0

    app = create_app(plant.services, supervisor)
    async with api_client(app, plant.admin_key) as operator, api_client(app) as anyone:
        detailed = await operator.get("/ready")
        minimal = await anyone.get("/ready")
    await supervisor.stop()

    assert detailed.status_code == minimal.status_code == 503
    assert detailed.json()["ready"] is False
    assert detailed.json()["workers"][name] == "failed"
    assert minimal.json() == {"ready": False}


@pytest.mark.parametrize(
    "name", ["startup_reconcile", "order_sync", "trade_sync", "position_sync", "instruments"]
)
async def test_an_unreachable_broker_is_retried_with_backoff_and_never_a_crash(
    plant: Plant, name: str
) -> None:
    supervisor, counter = one_worker(plant, name)
    crashes = sample("order_service_worker_crashes_total", name)
    storm = 30
    operations = ("orders", "trades", "order_history", "order_trades", "positions", "instruments")
    for operation in operations:
        for _ in range(storm):
            plant.broker.fail_next(operation, BrokerUnavailable())
    calls = sum(plant.broker.calls.values())

    with structlog.testing.capture_logs() as logs:
        await supervisor.start()
        await until(lambda: sum(1 for e in logs if e["event"] == "worker retrying") >= 3)
        await supervisor.stop()

    assert sample("order_service_worker_crashes_total", name) == crashes
    assert counter.built == 1  # the same instance throughout
    assert sum(plant.broker.calls.values()) > calls
