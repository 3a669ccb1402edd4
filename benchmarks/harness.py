"""Start the paper broker and the order service in their own processes for a benchmark run.

Benchmarks run as modules from the project root (``python -m benchmarks.order_path``), so the
``paper_broker`` package is never shadowed by ``benchmarks/paper_broker.py``.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx

BIG_FUNDS = Decimal("1000000000000")
# The order every benchmark places: one share of INFY at market (the account is added per run).
MARKET_ORDER = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "MARKET",
}


def keyed() -> dict[str, str]:
    """Headers giving a placement its own idempotency key, as every client should send one (an
    unkeyed repeat of the same order within seconds is refused as a duplicate)."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def _run_paper(port: int, rate_limits: bool, seed: int) -> None:
    from paper_broker.config import PaperBrokerConfig
    from paper_broker.server import serve

    serve(PaperBrokerConfig(port=port, rate_limits=rate_limits, funds=BIG_FUNDS, seed=seed))


def _run_service(port: int, paper_url: str, var_dir: str, overrides: dict[str, Any]) -> None:
    from order_service.adapters.db.migrate import upgrade
    from order_service.bootstrap import bootstrap
    from order_service.config import load_settings
    from order_service.entrypoints.demo import prepare_demo
    from order_service.entrypoints.server import run_process, serve_api
    from order_service.observability.logging import configure_logging

    workers = bool(overrides.pop("workers", True))
    prepare = bool(overrides.pop("prepare", True))  # a restart keeps the stored session
    database_url = overrides.pop("database_url", f"sqlite+aiosqlite:///{var_dir}/bench.db")
    settings = load_settings(
        port=port,
        kite_root=paper_url,
        var_dir=var_dir,
        database_url=database_url,
        log_level="ERROR",
        **overrides,
    )
    configure_logging("ERROR")
    upgrade(settings.database_url)

    async def main() -> None:
        services = bootstrap(settings)
        if prepare:
            await prepare_demo(services, settings)
        await serve_api(services, settings, with_workers=workers)

    run_process(main())  # as `order-service serve` runs: the loop, the collector


@dataclass
class Stack:
    """A paper broker and an order service, each in its own process."""

    paper_url: str = ""
    api_url: str = ""
    api_key: str = ""
    processes: list[BaseProcess] = field(default_factory=list)
    var_dir: str = ""
    service: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.join(10)

    def kill_service(self) -> None:
        """SIGKILL the order service's process: no shutdown, no cleanup, as a crash."""
        api = self.processes.pop()
        api.kill()
        api.join(10)

    def start_service(self, **overrides: Any) -> None:
        """Start the order service on the same port, database and var dir."""
        port = int(self.api_url.rsplit(":", 1)[1])
        args = (port, self.paper_url, self.var_dir, {**self.service, **overrides})
        api = mp.get_context("spawn").Process(target=_run_service, args=args, daemon=True)
        api.start()
        self.processes.append(api)
        wait_http(f"{self.api_url}/health")


def start_stack(*, rate_limits: bool = False, seed: int = 1, **service: Any) -> Stack:
    """Start both processes (spawned, so neither shares a GIL with the clients) and log in."""
    ctx = mp.get_context("spawn")
    var_dir = tempfile.mkdtemp(prefix="order-service-bench-")
    paper_port, api_port = free_port(), free_port()
    stack = Stack(f"http://127.0.0.1:{paper_port}", f"http://127.0.0.1:{api_port}")
    stack.var_dir, stack.service = var_dir, dict(service)
    paper = ctx.Process(target=_run_paper, args=(paper_port, rate_limits, seed), daemon=True)
    paper.start()
    stack.processes.append(paper)
    wait_http(f"{stack.paper_url}/_admin/state")
    stack.start_service()
    key_file = Path(var_dir) / "demo-api-key"
    while not key_file.exists():
        time.sleep(0.05)
    stack.api_key = key_file.read_text().strip()
    return stack
