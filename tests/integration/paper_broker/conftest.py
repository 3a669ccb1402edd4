"""The unmodified kiteconnect SDK against a paper broker served on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect

from paper_broker import PaperBrokerConfig, PaperBrokerServer


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


def start_server(**overrides: Any) -> PaperBrokerServer:
    settings: dict[str, Any] = {"port": 0, "seed": 7, "rate_limits": False, **overrides}
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
