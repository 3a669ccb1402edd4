"""Run the real service (API + workers, SQLite, the SDK) on a background thread for e2e tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import uvicorn

from order_service.adapters.db.migrate import upgrade
from order_service.bootstrap import bootstrap
from order_service.config import Settings, load_settings
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.demo import prepare_demo
from order_service.entrypoints.workers.registry import build_supervisor
from paper_broker.config import PaperBrokerConfig
from paper_broker.server import PaperBrokerServer

# Short timeouts and a quick sync, so unknown outcomes settle within a test's patience.
QUICK: dict[str, Any] = {
    "kite_timeout_seconds": 1.0,
    "unknown_grace_seconds": 2.0,
    "sync_interval_seconds": 0.2,
}


class ServiceThread:
    """The order service exactly as `order-service demo` runs it, minus the paper broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api_key = ""
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self) -> ServiceThread:
        upgrade(self.settings.database_url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self._thread.start()
        if not self._ready.wait(20) or self._failure is not None:
            raise RuntimeError(f"the service did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(sock))
        except BaseException as exc:  # noqa: BLE001 - surface start-up failures to the test
            self._failure = exc
            self._ready.set()

    async def _serve(self, sock: socket.socket) -> None:
        services = bootstrap(self.settings)
        self.api_key = await prepare_demo(services, self.settings)
        app = create_app(services, build_supervisor(services))
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        await self._until_started(serving)
        self._ready.set()
        await serving

    async def _until_started(self, serving: asyncio.Task[None]) -> None:
        for _ in range(2000):  # uvicorn offers no started event; poll its flag for up to 20 s
            if self._server is None or self._server.started or serving.done():
                return
            await asyncio.sleep(0.01)


@contextmanager
def e2e_stack(
    var_dir: Path,
    *,
    database_url: str | None = None,
    paper_seed: int = 7,
    **settings: Any,
) -> Iterator[tuple[str, ServiceThread]]:
    """Run a paper broker and the service against it; yield the broker's URL and the service.

    The database is a SQLite file in ``var_dir`` unless ``database_url`` names another;
    ``settings`` override the service's ``Settings`` (``QUICK`` holds the usual e2e timings).
    """
    paper = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=False, seed=paper_seed))
    paper_url = paper.start()
    try:
        values: dict[str, Any] = {
            "database_url": database_url or f"sqlite+aiosqlite:///{var_dir}/e2e.db",
            "var_dir": str(var_dir),
            "kite_root": paper_url,
            "log_json": False,
            "log_level": "ERROR",
            "risk_duplicate_window_seconds": 0,  # the tests repeat unkeyed orders on purpose
            **settings,
        }
        service = ServiceThread(load_settings(**values)).start()
        try:
            yield paper_url, service
        finally:
            service.stop()
    finally:
        paper.stop()


def wait_for(predicate: object, timeout: float = 10.0, interval: float = 0.05) -> object:
    """Poll ``predicate()`` until it returns something truthy; return it or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(interval)


MARKET = {
    "account_id": "PAPER1",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "MARKET",
}


def error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details", "retryable", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def inject_fault(admin: httpx.Client, route: str, kind: str, **extra: Any) -> None:
    admin.post(
        "/faults", json={"route": route, "kind": kind, "count": 1, **extra}
    ).raise_for_status()


def login_again(api: httpx.Client) -> None:
    """Walk the broker login as a browser would: our redirect, the broker's, our callback."""
    to_broker = api.get("/api/v1/accounts/PAPER1/login")
    assert to_broker.status_code == 302
    back = httpx.get(to_broker.headers["location"], follow_redirects=False)
    query = parse_qs(urlparse(back.headers["location"]).query)
    callback = api.get("/api/v1/accounts/login/callback", params=_callback_params(query))
    assert callback.status_code == 200, callback.text
    assert callback.json()["session_state"] == "active"


def _callback_params(query: dict[str, list[str]]) -> dict[str, str]:
    """What the broker's redirect brings back to our callback: its token and our state."""
    return {"request_token": query["request_token"][0], "state": query["state"][0]}


def add_paper_account(api: httpx.Client, admin: httpx.Client, funds: str | None = None) -> str:
    """A second paper user (with ``funds``, else the broker's default), added to the service
    and logged in through the login flow."""
    account = "PB" + uuid.uuid4().hex[:6].upper()
    key, secret = f"key{account}", f"secret{account}"
    user = {"user_id": account, "api_key": key, "api_secret": secret}
    admin.post("/users", json=user if funds is None else {**user, "funds": funds})
    added = api.post(
        "/api/v1/accounts", json={"account_id": account, "api_key": key, "api_secret": secret}
    )
    assert added.status_code == 201, added.text
    to_broker = api.get(f"/api/v1/accounts/{account}/login").headers["location"]
    back = httpx.get(to_broker).headers["location"]
    query = parse_qs(urlparse(back).query)
    callback = api.get("/api/v1/accounts/login/callback", params=_callback_params(query))
    assert callback.json()["session_state"] == "active"
    return account
