"""Sliding-window rate limits per user and bucket."""

from __future__ import annotations

import pytest

from paper_broker.errors import NetworkError
from paper_broker.ratelimit import ORDERS, OTHER, QUOTE, RateLimiter


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_orders_a_second_then_429() -> None:
    ticker = Ticker()
    limiter = RateLimiter(now=ticker)
    for _ in range(10):
        limiter.check("U1", ORDERS)

    with pytest.raises(NetworkError) as raised:
        limiter.check("U1", ORDERS)

    assert raised.value.http_status == 429
    assert raised.value.message == "Too many requests"
    ticker.now += 0.999
    with pytest.raises(NetworkError):
        limiter.check("U1", ORDERS)
    ticker.now += 0.001
    limiter.check("U1", ORDERS)


def test_four_hundred_orders_a_minute() -> None:
    ticker = Ticker()
    limiter = RateLimiter(now=ticker)
    for _ in range(400):
        limiter.check("U1", ORDERS)
        ticker.now += 0.125  # exact in binary, 8 a second

    with pytest.raises(NetworkError):
        limiter.check("U1", ORDERS)
    ticker.now = 1060.0
    limiter.check("U1", ORDERS)


def test_buckets_and_users_are_separate() -> None:
    limiter = RateLimiter(now=Ticker())
    limiter.check("U1", QUOTE)

    with pytest.raises(NetworkError):
        limiter.check("U1", QUOTE)
    limiter.check("U2", QUOTE)
    limiter.check("U1", OTHER)


def test_disabled_limits_never_refuse() -> None:
    limiter = RateLimiter(enabled=False, now=Ticker())

    for _ in range(100):
        limiter.check("U1", QUOTE)
