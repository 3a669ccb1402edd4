"""E2E fixtures: a paper broker and the service on real sockets, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import QUICK, ServiceThread, e2e_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ServiceThread]]:
    """The paper broker and the service most e2e tests share (SQLite)."""
    var = tmp_path_factory.mktemp("e2e-var")
    with e2e_stack(var, paper_seed=7, log_level="WARNING", **QUICK) as running:
        yield running


@pytest.fixture(scope="session")
def paper(stack: tuple[str, ServiceThread]) -> str:
    return stack[0]


@pytest.fixture(scope="session")
def service(stack: tuple[str, ServiceThread]) -> ServiceThread:
    return stack[1]


@pytest.fixture
def admin(paper: str) -> Iterator[httpx.Client]:
    """The paper broker's admin API, with faults cleared before and after each test."""
    with httpx.Client(base_url=f"{paper}/_admin", timeout=10) as client:
        client.delete("/faults").raise_for_status()
        yield client
        client.delete("/faults").raise_for_status()


@pytest.fixture
def api(service: ServiceThread, admin: httpx.Client) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {service.api_key}"}
    with httpx.Client(base_url=service.url, headers=headers, timeout=15) as client:
        yield client
