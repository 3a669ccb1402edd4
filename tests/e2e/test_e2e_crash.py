"""Crash recovery, small: `kill -9` of the service mid-burst, a restart, every order once.

The paper broker and the service run as processes of their own (``benchmarks.crash``, whose
full run is 500 orders); here 120 orders over three accounts, the service killed after 40.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.crash import SERVICE, run_crash
from benchmarks.harness import start_stack


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_service_killed_mid_burst_loses_and_duplicates_nothing() -> None:
    stack = start_stack(**SERVICE)
    try:
        report = asyncio.run(run_crash(stack, accounts=3, orders=120, clients=8, kill_after=40))
    finally:
        stack.stop()
    print("\n".join(report.lines()))
    assert report.answered_before_kill >= 40
    assert (report.duplicates, report.lost) == (0, 0)
    assert sum(report.outcomes.values()) == 120
    assert report.outcomes["COMPLETE"] == 120  # every key's order at its broker state
    assert report.retries["connection"] > 0  # the clients really met the outage
