"""The supervisor: runs each worker loop, restarts crashed ones, marks crash-loopers failed.

Expected errors are handled inside the worker per item. ``BrokerUnavailable`` and
``ServiceUnavailableError`` are retried with capped exponential backoff and jitter. Anything
else is a crash: logged CRITICAL with the traceback, counted, the worker instance is dropped
and a fresh one started after a backoff. More than ``max_crashes`` within ``crash_window``
seconds marks the worker ``failed`` (``/ready`` turns false; the crash-loop alert fires).
The crash policy comes from ``Settings`` (``WORKER_*``); nothing here restates a default.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from order_service.config import Settings
from order_service.errors import BrokerUnavailable, ServiceUnavailableError
from order_service.observability.logging import get_logger
from order_service.observability.metrics import WORKER_CRASHES, WORKER_LAST_SUCCESS, WORKER_UP

log = get_logger(__name__)
TRANSIENT = (BrokerUnavailable, ServiceUnavailableError)
# Jitter from a generator of its own: workers running beside other code (a test's property
# generator, say) never move the random module's shared state under it.
_JITTER = random.Random()  # noqa: S311 - jitter, not cryptography


class Worker(Protocol):
    name: str
    interval: float

    async def run_once(self) -> None: ...


class WorkerState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"  # crash-looping: not restarted again; readiness turns false


@dataclass(frozen=True)
class Backoff:
    initial: float
    maximum: float

    def delay(self, attempt: int) -> float:
        base: float = min(self.maximum, self.initial * 2.0**attempt)
        return base * _JITTER.uniform(0.5, 1.0)


@dataclass(frozen=True)
class CrashPolicy:
    """When a crashed worker restarts, and when it is given up as crash-looping."""

    max_crashes: int
    crash_window: float
    backoff: Backoff
    stop_grace: float  # how long a stop waits for the passes under way

    @classmethod
    def of(cls, settings: Settings) -> CrashPolicy:
        backoff = Backoff(settings.worker_backoff_seconds, settings.worker_backoff_max_seconds)
        return cls(
            settings.worker_max_crashes,
            settings.worker_crash_window_seconds,
            backoff,
            settings.worker_stop_grace_seconds,
        )


@dataclass
class _Slot:
    factory: Callable[[], Worker]
    name: str
    state: WorkerState = WorkerState.STARTING
    crashes: deque[float] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Supervisor:
    """Owns the worker tasks of one process."""

    def __init__(self, factories: dict[str, Callable[[], Worker]], policy: CrashPolicy) -> None:
        self._slots = [_Slot(factory, name) for name, factory in factories.items()]
        self._max_crashes = policy.max_crashes
        self._window = policy.crash_window
        self._backoff = policy.backoff
        self._grace = policy.stop_grace
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        for slot in self._slots:
            slot.task = asyncio.create_task(self._supervise(slot), name=f"worker:{slot.name}")

    async def stop(self) -> None:
        """Let each worker finish its current pass (within the grace), then end it."""
        self._stopping.set()
        tasks = [slot.task for slot in self._slots if slot.task is not None]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._grace)
        for task in late:
            log.warning("worker did not finish its pass in time; cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def status(self) -> dict[str, WorkerState]:
        return {slot.name: slot.state for slot in self._slots}

    async def _supervise(self, slot: _Slot) -> None:
        while slot.state is not WorkerState.FAILED and not self._stopping.is_set():
            worker = slot.factory()
            slot.state = WorkerState.RUNNING
            WORKER_UP.labels(slot.name).set(1)
            try:
                crashed = await self._run(worker)
            finally:
                await _close(worker)
                WORKER_UP.labels(slot.name).set(0)
                slot.state = WorkerState.STOPPED
            if crashed:
                await self._after_crash(slot)

    async def _run(self, worker: Worker) -> bool:
        """Loop the worker until it crashes (True) or the supervisor stops (False).

        Transient errors only slow it down; a stop waits for the pass under way to end.
        """
        failures = 0
        while not self._stopping.is_set():
            try:
                await worker.run_once()
            except TRANSIENT as exc:
                failures += 1
                log.warning("worker retrying", worker=worker.name, error=str(exc))
                await self._pause(self._backoff.delay(failures))
                continue
            except Exception as exc:
                log.critical("worker crashed", worker=worker.name, exc_info=exc)
                WORKER_CRASHES.labels(worker.name).inc()
                return True
            failures = 0
            WORKER_LAST_SUCCESS.labels(worker.name).set(time.time())
            await self._pause(worker.interval)
        return False

    async def _pause(self, seconds: float) -> None:
        """Sleep between passes; a stop ends the sleep at once."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _after_crash(self, slot: _Slot) -> None:
        now = time.monotonic()
        slot.crashes.append(now)
        while slot.crashes and now - slot.crashes[0] > self._window:
            slot.crashes.popleft()
        if len(slot.crashes) > self._max_crashes:
            slot.state = WorkerState.FAILED
            log.critical("worker crash-looping; marked failed", worker=slot.name)
            return
        slot.state = WorkerState.RESTARTING
        await self._pause(self._backoff.delay(len(slot.crashes)))


async def _close(worker: Worker) -> None:
    """Release what a worker holds across passes (connections), if it holds anything."""
    close = getattr(worker, "close", None)
    if close is not None:
        await close()
