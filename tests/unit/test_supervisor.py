"""The supervisor: crashed workers restart fresh, crash-loopers fail, transient errors retry."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from order_service.config import Settings
from order_service.entrypoints.workers.supervisor import (
    Backoff,
    CrashPolicy,
    Supervisor,
    Worker,
    WorkerState,
)
from order_service.errors import BrokerUnavailable, ServiceUnavailableError
from tests.unit.conftest import eventually

TINY = Backoff(initial=0.0001, maximum=0.001)


def policy(max_crashes: int = 5, crash_window: float = 300.0) -> CrashPolicy:
    return CrashPolicy(max_crashes, crash_window, TINY, stop_grace=5.0)


_names = itertools.count()


class ScriptedWorker:
    """Raises the scripted errors in turn (None is a clean pass), then runs cleanly."""

    def __init__(self, name: str, script: list[BaseException | None], interval: float) -> None:
        self.name = name
        self.interval = interval
        self.script = list(script)
        self.runs = 0

    async def run_once(self) -> None:
        self.runs += 1
        if self.script and (error := self.script.pop(0)) is not None:
            raise error


class Factory:
    """Builds workers and keeps every instance it built."""

    def __init__(
        self, script: Callable[[int], list[BaseException | None]], interval: float = 0.0
    ) -> None:
        self.name = f"test_worker_{next(_names)}"  # metrics are process-global: one name a test
        self.script = script
        self.interval = interval
        self.instances: list[ScriptedWorker] = []

    def __call__(self) -> Worker:
        worker = ScriptedWorker(self.name, self.script(len(self.instances)), self.interval)
        self.instances.append(worker)
        return worker


def crashes(name: str) -> float:
    labels = {"worker": name}
    return REGISTRY.get_sample_value("order_service_worker_crashes_total", labels) or 0.0


def worker_up(name: str) -> float | None:
    return REGISTRY.get_sample_value("order_service_worker_up", {"worker": name})


def always(error: type[BaseException]) -> Callable[[int], list[BaseException | None]]:
    return lambda _: [error("boom")] * 1000


@pytest.mark.asyncio
async def test_a_crashed_worker_is_replaced_by_a_fresh_instance() -> None:
    factory = Factory(lambda index: [RuntimeError("boom")] if index == 0 else [])
    supervisor = Supervisor({factory.name: factory}, policy())

    await supervisor.start()
    await eventually(lambda: len(factory.instances) == 2 and factory.instances[1].runs >= 3)
    await supervisor.stop()

    assert factory.instances[0].runs == 1
    assert crashes(factory.name) == 1
    assert supervisor.status() == {factory.name: "stopped"}


@pytest.mark.asyncio
async def test_a_crash_looping_worker_is_marked_failed_and_not_restarted() -> None:
    factory = Factory(always(RuntimeError))
    supervisor = Supervisor({factory.name: factory}, policy(max_crashes=2))

    await supervisor.start()
    await eventually(lambda: supervisor.status()[factory.name] == "failed")
    await asyncio.sleep(0.02)
    await supervisor.stop()

    assert len(factory.instances) == 3
    assert crashes(factory.name) == 3
    assert worker_up(factory.name) == 0


@pytest.mark.asyncio
async def test_crashes_outside_the_window_do_not_count() -> None:
    factory = Factory(lambda index: [RuntimeError("boom")] if index < 4 else [])
    supervisor = Supervisor({factory.name: factory}, policy(max_crashes=1, crash_window=0.0))

    await supervisor.start()
    await eventually(lambda: len(factory.instances) == 5 and factory.instances[4].runs >= 1)
    await supervisor.stop()

    assert supervisor.status() == {factory.name: "stopped"}
    assert crashes(factory.name) == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("error", [BrokerUnavailable, ServiceUnavailableError])
async def test_a_transient_error_is_retried_on_the_same_instance(
    error: type[BaseException],
) -> None:
    factory = Factory(lambda _: [error(), None, error(), error()])
    supervisor = Supervisor({factory.name: factory}, policy())

    await supervisor.start()
    await eventually(lambda: bool(factory.instances) and factory.instances[0].runs >= 6)
    await supervisor.stop()

    assert len(factory.instances) == 1
    assert crashes(factory.name) == 0
    assert supervisor.status() == {factory.name: "stopped"}


@pytest.mark.asyncio
async def test_stop_cancels_the_workers_cleanly() -> None:
    slow = Factory(lambda _: [], interval=3600)
    fast = Factory(lambda _: [])
    supervisor = Supervisor({slow.name: slow, fast.name: fast}, policy())

    await supervisor.start()
    await eventually(lambda: bool(slow.instances) and slow.instances[0].runs == 1)
    async with asyncio.timeout(1):
        await supervisor.stop()

    names = {f"worker:{slow.name}", f"worker:{fast.name}"}
    assert [t for t in asyncio.all_tasks() if t.get_name() in names] == []
    assert slow.instances[0].runs == 1


class PassInProgress:
    """A worker whose pass waits for ``release``; it records each pass it finishes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.interval = 0.0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = 0
        self.closed = False

    async def run_once(self) -> None:
        self.started.set()
        await self.release.wait()
        self.finished += 1

    async def close(self) -> None:
        self.closed = True


@pytest.mark.asyncio
async def test_stop_lets_the_pass_under_way_finish_and_starts_no_other() -> None:
    worker = PassInProgress(f"test_worker_{next(_names)}")
    supervisor = Supervisor({worker.name: lambda: worker}, policy())
    await supervisor.start()
    await asyncio.wait_for(worker.started.wait(), timeout=2)

    stopping = asyncio.create_task(supervisor.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()  # the pass under way is not cut off
    worker.release.set()
    await asyncio.wait_for(stopping, timeout=2)

    assert worker.finished == 1
    assert worker.closed
    assert supervisor.status() == {worker.name: "stopped"}


@pytest.mark.asyncio
async def test_a_pass_that_outlives_the_grace_is_cancelled() -> None:
    worker = PassInProgress(f"test_worker_{next(_names)}")
    grace = CrashPolicy(5, 300.0, TINY, stop_grace=0.05)
    supervisor = Supervisor({worker.name: lambda: worker}, grace)
    await supervisor.start()
    await asyncio.wait_for(worker.started.wait(), timeout=2)

    await asyncio.wait_for(supervisor.stop(), timeout=2)

    assert worker.finished == 0
    assert worker.closed


@pytest.mark.asyncio
async def test_a_stopped_worker_is_not_reported_up() -> None:
    factory = Factory(lambda _: [], interval=3600)
    supervisor = Supervisor({factory.name: factory}, policy())
    await supervisor.start()
    await eventually(lambda: bool(factory.instances))
    assert worker_up(factory.name) == 1

    await supervisor.stop()

    assert worker_up(factory.name) == 0


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_is_exponential_capped_and_jittered(attempt: int) -> None:
    backoff = Backoff(initial=0.5, maximum=30.0)
    ceiling = min(30.0, 0.5 * 2**attempt)
    delays = [backoff.delay(attempt) for _ in range(50)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1


def test_the_crash_policy_comes_from_settings(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={
            "worker_max_crashes": 2,
            "worker_crash_window_seconds": 60.0,
            "worker_backoff_seconds": 0.25,
            "worker_backoff_max_seconds": 4.0,
            "worker_stop_grace_seconds": 3.0,
        }
    )

    assert CrashPolicy.of(tuned) == CrashPolicy(2, 60.0, Backoff(0.25, 4.0), 3.0)
    assert {state.value for state in WorkerState} == {
        "starting",
        "running",
        "restarting",
        "stopped",
        "failed",
    }
