"""Kite's per-user rate limits answer 429 NetworkException."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import NetworkException

from paper_broker import PaperBrokerConfig, PaperBrokerServer

if TYPE_CHECKING:
    from conftest import Paper


@pytest.fixture(scope="module")
def server() -> Iterator[PaperBrokerServer]:
    server = PaperBrokerServer(PaperBrokerConfig(port=0, rate_limits=True))
    server.start()
    yield server
    server.stop()


def test_quotes_are_limited_to_one_a_second(kite: KiteConnect) -> None:
    kite.ltp("NSE:INFY")

    with pytest.raises(NetworkException, match="Too many requests") as raised:
        kite.quote("NSE:INFY")

    assert raised.value.code == 429
    time.sleep(1.0)
    assert kite.ohlc("NSE:INFY")


def test_orders_are_limited_to_ten_a_second(paper: Paper, kite: KiteConnect) -> None:
    price = paper.on_tick(paper.ltp(kite) * 0.9)
    for _ in range(10):
        paper.place_limit(kite, price)

    with pytest.raises(NetworkException) as raised:
        paper.place_limit(kite, price)

    assert raised.value.code == 429
    assert len(kite.orders()) == 10


def test_limits_are_per_user(paper: Paper, kite: KiteConnect) -> None:
    paper.post("users", {"user_id": "SECOND", "api_key": "second", "api_secret": "s"})
    other = paper.login("second", "s")
    kite.ltp("NSE:INFY")

    assert other.ltp("NSE:INFY")


def test_historical_data_is_limited_to_three_a_second(kite: KiteConnect) -> None:
    for _ in range(3):
        kite.historical_data(408065, "2024-01-01", "2024-01-05", "day")

    with pytest.raises(NetworkException, match="Too many requests") as raised:
        kite.historical_data(408065, "2024-01-01", "2024-01-05", "day")

    assert raised.value.code == 429
