"""The processes run on uvloop where it is installed, and on asyncio's own loop where it is not."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import cast

import pytest
import uvloop

from order_service.entrypoints.server import YOUNGEST_GENERATION_THRESHOLD, run, stop_on_signals


async def _running_loop() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_run_drives_its_coroutine_on_uvloop() -> None:
    assert run(_running_loop()) is uvloop.Loop


def test_run_raises_what_its_coroutine_raised_and_closes_its_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def fail() -> None:
        loops.append(asyncio.get_running_loop())
        raise LookupError("from the coroutine")

    with pytest.raises(LookupError, match="from the coroutine"):
        run(fail())
    assert loops[0].is_closed()
    assert run(_running_loop()) is uvloop.Loop  # each run has a loop of its own


def in_a_process_of_its_own(script: str) -> str:
    """What ``script`` prints, run by this interpreter in a fresh process."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_without_uvloop_run_falls_back_to_asyncio() -> None:
    # As on Windows: uvloop cannot be imported. A process of its own, so this one keeps uvloop.
    script = (
        "import asyncio, sys\n"
        "sys.modules['uvloop'] = None\n"
        "from order_service.entrypoints.server import run\n"
        "async def loop(): return type(asyncio.get_running_loop()).__module__\n"
        "print(run(loop()))\n"
    )
    assert in_a_process_of_its_own(script).strip() == "asyncio.unix_events"


def test_a_process_runs_with_its_start_frozen_and_the_youngest_generation_collected_less() -> None:
    # A process of its own: freezing this one would change every later test's collector.
    script = (
        "import gc\n"
        "from order_service.entrypoints.server import run_process\n"
        "async def state(): return gc.get_threshold(), gc.get_freeze_count() > 0\n"
        "default = gc.get_threshold()\n"
        "(threshold, frozen) = run_process(state())\n"
        "print(threshold[0], threshold[1:] == default[1:], frozen)\n"
    )
    assert in_a_process_of_its_own(script).split() == [
        str(YOUNGEST_GENERATION_THRESHOLD),
        "True",
        "True",
    ]


class _LoopWithoutSignals:
    """An event loop that cannot watch signals, as Windows' loops cannot."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add_signal_handler(self, *_: object) -> None:
        raise NotImplementedError

    def call_soon_threadsafe(self, callback: Callable[[], object]) -> None:
        self._loop.call_soon_threadsafe(callback)


def test_where_the_loop_cannot_watch_signals_a_plain_handler_stops_the_workers() -> None:
    async def stopped_by_sigterm() -> bool:
        stop = asyncio.Event()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stop_on_signals(
                cast("asyncio.AbstractEventLoop", _LoopWithoutSignals(asyncio.get_running_loop())),
                stop,
            )
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(stop.wait(), 5)
            return stop.is_set()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    assert asyncio.run(stopped_by_sigterm())
