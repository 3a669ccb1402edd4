"""E2E fixtures: a paper broker and the service on real sockets, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from order_service.config import load_settings
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.e2e.harness import ServiceThread


@pytest.fixture(scope="session")
def paper() -> Iterator[str]:
    server = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=7))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def service(paper: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    var: Path = tmp_path_factory.mktemp("e2e-var")
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{var}/e2e.db",
        var_dir=str(var),
        kite_root=paper,
        kite_timeout_seconds=1.0,
        unknown_grace_seconds=2.0,
        sync_interval_seconds=0.2,
        log_json=False,
        log_level="WARNING",
    )
    thread = ServiceThread(settings).start()
    yield thread
    thread.stop()


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
