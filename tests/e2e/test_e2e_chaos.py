"""The exactly-once proof, small: 500 orders through faults, zero duplicates, lost or mismatched."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from benchmarks.chaos import run_chaos
from tests.e2e.harness import ServiceThread


@pytest.mark.slow
# Up to 100 s alone; `make test` runs it beside another test process on two cores.
@pytest.mark.timeout(300)
def test_five_hundred_orders_through_faults_land_exactly_once(
    service: ServiceThread, paper: str, admin: httpx.Client
) -> None:
    report = asyncio.run(
        run_chaos(service.url, paper, service.api_key, orders=500, accounts=5, clients=24)
    )
    print("\n".join(report.lines()))
    assert report.answered == report.requested == 500
    assert report.at_broker == 500
    assert (report.duplicates, report.lost, report.mismatches) == (0, 0, 0)
    assert report.retries["RATE_LIMITED"] > 0  # the faults really fired
    assert report.relogins == 1
