"""Orders follow the broker from the ticker alone: no order sync, no trade sync, no postbacks.

The service's ticker reaches the paper broker through a relay the test runs: every frame is
passed on unchanged, order frames are recorded, and a recorded frame can be sent again (a
duplicate or a replay, as a network or the broker might deliver one).
"""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import ServerConnection, serve

from order_service.bootstrap import bootstrap
from order_service.config import load_settings
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.demo import prepare_demo
from order_service.entrypoints.workers.startup import StartupWorker
from order_service.entrypoints.workers.supervisor import CrashPolicy, Supervisor, Worker
from order_service.entrypoints.workers.ticker import TickerWorker
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer
from tests.e2e.harness import MARKET, QUICK, ServiceThread, wait_for

WAIT = 10.0


class Relay:
    """A ticker in the middle: passes frames both ways, records order frames, replays them."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.orders: list[dict[str, Any]] = []
        self.connections = 0
        self._replays: queue.Queue[str] = queue.Queue()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.root = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Relay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(WAIT)

    def replay(self, *frames: dict[str, Any]) -> None:
        for frame in frames:
            self._replays.put(json.dumps(frame))

    def _handle(self, downstream: ServerConnection) -> None:
        assert downstream.request is not None
        self.connections += 1
        try:
            with connect(self.upstream + downstream.request.path) as upstream:
                while True:
                    self._forward(upstream, downstream)
        except (ConnectionClosed, InvalidStatus):
            downstream.close()

    def _forward(self, upstream: ClientConnection, downstream: ServerConnection) -> None:
        try:
            frame = upstream.recv(timeout=0.05)
        except TimeoutError:
            frame = None
        if isinstance(frame, str) and json.loads(frame).get("type") == "order":
            self.orders.append(json.loads(frame))
        if frame is not None:
            downstream.send(frame)
        while not self._replays.empty():
            downstream.send(self._replays.get_nowait())


class TickerOnlyService(ServiceThread):
    """The service with only the startup reconciliation and the ticker among its workers."""

    async def _serve(self, sock: socket.socket) -> None:
        services = bootstrap(self.settings)
        self.api_key = await prepare_demo(services, self.settings)
        workers: dict[str, Callable[[], Worker]] = {
            StartupWorker.name: lambda: StartupWorker(services),
            TickerWorker.name: lambda: TickerWorker(services),
        }
        supervisor = Supervisor(workers, CrashPolicy.of(self.settings))
        app = create_app(services, supervisor)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        await self._until_started(serving)
        self._ready.set()
        await serving


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Relay, ServiceThread]]:
    var = tmp_path_factory.mktemp("e2e-ticker")
    paper = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=11))
    paper_url = paper.start()
    relay = Relay(paper_url.replace("http://", "ws://")).start()
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{var}/e2e.db",
        var_dir=str(var),
        kite_root=paper_url,
        kite_ticker_root=relay.root,
        log_json=False,
        log_level="ERROR",
        **QUICK,
    )
    service = TickerOnlyService(settings).start()
    try:
        yield paper_url, relay, service
    finally:
        service.stop()
        relay.stop()
        paper.stop()


@pytest.fixture
def api(stack: tuple[str, Relay, ServiceThread]) -> Iterator[httpx.Client]:
    service = stack[2]
    headers = {"Authorization": f"Bearer {service.api_key}"}
    with httpx.Client(base_url=service.url, headers=headers, timeout=15) as client:
        yield client


@pytest.fixture
def relay(stack: tuple[str, Relay, ServiceThread]) -> Relay:
    wait_for(lambda: stack[1].connections >= 1, WAIT)  # the service's ticker is on
    return stack[1]


@pytest.fixture
def admin(stack: tuple[str, Relay, ServiceThread]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack[0]}/_admin", timeout=10) as client:
        yield client


def ticker_updates(outcome: str) -> float:
    labels = {"channel": "ticker", "outcome": outcome}
    return REGISTRY.get_sample_value("order_service_order_updates_total", labels) or 0.0


def settled(api: httpx.Client, order_id: str, status: str) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        order: dict[str, Any] = api.get(f"/api/v1/orders/{order_id}").json()
        return order if order["status"] == status else None

    result: dict[str, Any] = wait_for(current, WAIT)  # type: ignore[assignment]
    return result


def test_a_market_order_completes_from_the_ticker_and_a_replay_changes_nothing(
    api: httpx.Client, relay: Relay
) -> None:
    applied = ticker_updates("applied")
    placed = api.post("/api/v1/orders", json=MARKET)
    assert placed.status_code in (201, 202), placed.text

    order = settled(api, placed.json()["order_id"], "COMPLETE")
    events = api.get(f"/api/v1/orders/{order['order_id']}/events").json()
    assert order["filled_quantity"] == MARKET["quantity"]
    assert ticker_updates("applied") == applied + 1
    (frame,) = [f for f in relay.orders if f["data"]["order_id"] == order["broker_order_id"]]

    duplicates = ticker_updates("duplicate")
    relay.replay(frame, frame)
    wait_for(lambda: ticker_updates("duplicate") == duplicates + 2, WAIT)

    assert api.get(f"/api/v1/orders/{order['order_id']}").json() == order
    assert api.get(f"/api/v1/orders/{order['order_id']}/events").json() == events


def test_a_resting_order_fills_from_the_ticker_when_the_market_comes_to_it(
    api: httpx.Client, relay: Relay, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    body = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}
    # Keyed: the same instrument, side and quantity as the test before, within seconds.
    placed = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "resting"}).json()
    assert placed["status"] == "PENDING"  # the paper broker sends no update for OPEN

    applied = ticker_updates("applied")
    admin.post("/prices", json={"NSE:INFY": "1440.00"}).raise_for_status()

    order = settled(api, placed["order_id"], "COMPLETE")
    assert order["filled_quantity"] == 1
    assert ticker_updates("applied") == applied + 1
    assert order["average_price"] is not None
