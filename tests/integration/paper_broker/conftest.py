"""The unmodified kiteconnect SDK against a paper broker served on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests
import uvicorn
from kiteconnect import KiteConnect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paper_broker import PaperBrokerConfig, PaperBrokerServer
from tests.moments import IST, PAPER_CLOCK_START


class Paper:
    """The paper broker's admin API, the browser half of the login flow, and order shortcuts."""

    api_key = "paper"
    api_secret = "paper-secret"

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, body: dict[str, Any]) -> Any:
        reply = requests.post(f"{self.url}/_admin/{path}", json=body, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()["data"]

    def state(self) -> Any:
        return requests.get(f"{self.url}/_admin/state", timeout=5).json()["data"]

    def fault(self, **spec: Any) -> str:
        fault_id: str = self.post("faults", spec)["fault_id"]
        return fault_id

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_admin/faults", timeout=5).raise_for_status()

    def set_prices(self, prices: dict[str, str]) -> Any:
        return self.post("prices", prices)

    def advance(self, seconds: float) -> Any:
        return self.post("clock", {"advance_seconds": seconds})

    def next_day(self) -> KiteConnect:
        """Move the clock just past the next midnight IST (one trading-day rollover).

        The move may pass 06:00 IST, when sessions die, so this logs in again.
        """
        now = datetime.fromisoformat(self.state()["clock"]["now"]).replace(tzinfo=IST)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), IST)
        self.advance((midnight - now).total_seconds() + 60)
        return self.login()

    def set_postback(self, url: str | None, user_id: str = "PAPER1") -> Any:
        return self.post("users", {"user_id": user_id, "postback_url": url})

    def redirect(self, api_key: str = "paper", **params: str) -> requests.Response:
        return requests.get(
            f"{self.url}/connect/login",
            params={"api_key": api_key, "v": "3", **params},
            allow_redirects=False,
            timeout=5,
        )

    def request_token(self, api_key: str = "paper") -> str:
        reply = self.redirect(api_key)
        assert reply.status_code == 302, reply.text
        return parse_qs(urlsplit(reply.headers["location"]).query)["request_token"][0]

    def login(
        self, api_key: str | None = None, api_secret: str | None = None, **kwargs: Any
    ) -> KiteConnect:
        api_key = api_key or self.api_key
        kite = KiteConnect(api_key, root=self.url, **kwargs)
        kite.generate_session(self.request_token(api_key), api_secret or self.api_secret)
        return kite

    @staticmethod
    def place_market(kite: KiteConnect, side: str = "BUY", quantity: int = 1, **extra: Any) -> str:
        order_id: str = kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type=side,
            quantity=quantity,
            product="CNC",
            order_type="MARKET",
            market_protection=-1,
            **extra,
        )
        return order_id

    @staticmethod
    def place_limit(kite: KiteConnect, price: float, side: str = "BUY", **extra: Any) -> str:
        terms: dict[str, Any] = {"quantity": 1, "product": "CNC", **extra}
        order_id: str = kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type=side,
            order_type="LIMIT",
            price=price,
            **terms,
        )
        return order_id

    @staticmethod
    def ltp(kite: KiteConnect, key: str = "NSE:INFY") -> float:
        price: float = kite.ltp(key)[key]["last_price"]
        return price

    @staticmethod
    def on_tick(price: float, tick: float = 0.05) -> float:
        return round(round(price / tick) * tick, 2)


class Receiver:
    """A postback endpoint on its own thread: records each body, can fail the first few."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.failures = 0
        self.calls = 0
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    async def _hook(self, request: Request) -> Response:
        self.calls += 1
        body = await request.body()
        if self.failures:
            self.failures -= 1
            return Response(status_code=500)
        self.bodies.append(body)
        return Response("ok")

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def payloads(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first `count` payloads, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.bodies) >= count, f"{len(self.bodies)} of {count} postbacks arrived"
        return [orjson.loads(body) for body in self.bodies[:count]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


def start_server(**overrides: Any) -> PaperBrokerServer:
    settings: dict[str, Any] = {
        "port": 0,
        "seed": 7,
        "rate_limits": False,
        "postback_backoff": 0.05,
        "clock_start": PAPER_CLOCK_START,
        **overrides,
    }
    server = PaperBrokerServer(PaperBrokerConfig(**settings))
    server.start()
    return server


@pytest.fixture(scope="module")
def server() -> Iterator[PaperBrokerServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def paper(server: PaperBrokerServer) -> Paper:
    """A freshly reset paper broker."""
    paper = Paper(server.url)
    paper.post("reset", {})
    return paper


@pytest.fixture
def kite(paper: Paper) -> KiteConnect:
    return paper.login()
