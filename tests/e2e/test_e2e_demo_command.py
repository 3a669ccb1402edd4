"""`order-service demo` as a user runs it: a fresh directory, the printed key, a MARKET order."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import MARKET, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    api_port, paper_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "ORDER_SERVICE_PORT": str(api_port),
        "ORDER_SERVICE_PAPER_BROKER_PORT": str(paper_port),
        "ORDER_SERVICE_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).parent / "order-service"
    process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [str(cli), "demo"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_for(lambda: _healthy(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        yield url, tmp_path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_demo_serves_a_market_order_to_complete(demo: tuple[str, Path]) -> None:
    url, directory = demo
    key = (directory / "var" / "demo-api-key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    placed = httpx.post(f"{url}/api/v1/orders", json=MARKET, headers=headers, timeout=10)
    assert placed.status_code == 201, placed.text
    order_url = f"{url}/api/v1/orders/{placed.json()['order_id']}"
    wait_for(lambda: httpx.get(order_url, headers=headers).json()["status"] == "COMPLETE")
    # Readiness tells an unauthenticated caller only ready or not (details are for admins).
    assert httpx.get(f"{url}/ready").json() == {"ready": True}
    assert (directory / "var" / "order-service.db").exists()
    metrics = httpx.get(f"{url}/metrics").text  # the demo's paper broker posts updates back
    wait_for(lambda: 'order_service_postbacks_total{outcome="' in httpx.get(f"{url}/metrics").text)
    assert "order_service_orders_total" in metrics
