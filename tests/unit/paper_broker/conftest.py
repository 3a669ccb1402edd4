"""Fixtures for the paper broker's pure parts: a frozen clock and a small exchange."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from paper_broker.catalogue import build_catalogue
from paper_broker.clock import IST, Clock
from paper_broker.engine import Exchange
from paper_broker.instruments import Catalogue
from paper_broker.orders import OrderListener
from paper_broker.prices import Market

# A Monday inside the NSE session.
START = datetime(2026, 12, 7, 10, 0, 0, tzinfo=IST)


class FakeWall:
    """Wall time that moves only when told to."""

    def __init__(self, moment: datetime = START) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


@pytest.fixture
def clock(wall: FakeWall) -> Clock:
    return Clock("simulated", wall=wall)


@pytest.fixture
def catalogue() -> Catalogue:
    return build_catalogue(START.date())


@pytest.fixture
def market(clock: Clock) -> Market:
    return Market(seed=3, anchor_second=clock.second())


@pytest.fixture
def listener() -> OrderListener | None:
    """Who hears of the exchange's order updates: nobody, unless a test module says otherwise."""
    return None


@pytest.fixture
def exchange(
    catalogue: Catalogue, market: Market, clock: Clock, listener: OrderListener | None
) -> Exchange:
    exchange = Exchange(catalogue, market, clock, listener)
    exchange.registry.open_account("U1", Decimal("1000000"))
    return exchange
