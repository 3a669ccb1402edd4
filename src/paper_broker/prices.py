"""Seeded random-walk prices, one step per simulated second, computed lazily when read.

The walk of an instrument is a function of (seed, instrument token, seconds since the market's
anchor) only, so two runs with the same seed see the same prices at the same simulated second
whatever the order in which they read them. A watcher (the resting-order book of the instrument)
is consulted on every step so that a crossing between two reads is never missed.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Protocol

from .instruments import Instrument

# One trading day of steps; a longer gap walks only its last day (the price is continuous).
MAX_CATCHUP_STEPS = 86_400
# Per-second volatility: about 1.5 % a day over a 6h15m session for stocks and futures.
STOCK_SIGMA = 0.015 / math.sqrt(22_500)
OPTION_SIGMA = STOCK_SIGMA * 4
NEVER_BELOW = -(10**18)
NEVER_ABOVE = 10**18


class Watcher(Protocol):
    """Fire when the price in ticks is at or below `low` or at or above `high`."""

    low: int
    high: int

    def fire(self, ticks: int, second: int) -> None: ...


class PriceWalk:
    """The walk of one instrument, kept in ticks so that comparisons are exact."""

    __slots__ = (
        "close",
        "high",
        "level",
        "low",
        "open",
        "rng",
        "second",
        "sigma",
        "steps",
        "tick",
        "ticks",
    )

    def __init__(self, seed: int, instrument: Instrument, anchor_second: int) -> None:
        self.tick = instrument.tick_size if instrument.tick_size else Decimal("0.05")
        # Reproducible by design: prices must repeat under a seed.
        self.rng = random.Random(f"{seed}:{instrument.instrument_token}")  # noqa: S311
        self.sigma = OPTION_SIGMA if instrument.segment == "NFO-OPT" else STOCK_SIGMA
        self.second = anchor_second
        self.steps = 0
        self.level = float(instrument.base_price)
        self.ticks = self._round(self.level)
        self.open = self.high = self.low = self.close = self.ticks

    def _round(self, level: float) -> int:
        return max(1, round(level / float(self.tick)))

    @property
    def price(self) -> Decimal:
        return self.ticks * self.tick

    def to_ticks(self, price: Decimal) -> int:
        return int(price / self.tick)

    def advance(self, second: int, watcher: Watcher | None = None) -> None:
        """Walk forward to `second`, firing the watcher on every crossing step."""
        if second - self.second > MAX_CATCHUP_STEPS:
            self.second = second - MAX_CATCHUP_STEPS
        while self.second < second:
            self._step()
            if watcher is not None and (self.ticks <= watcher.low or self.ticks >= watcher.high):
                watcher.fire(self.ticks, self.second)

    def _step(self) -> None:
        self.second += 1
        self.steps += 1
        self.level *= math.exp(self.sigma * self.rng.gauss(0.0, 1.0))
        self.ticks = self._round(self.level)
        self.high = max(self.high, self.ticks)
        self.low = min(self.low, self.ticks)

    def set_price(self, price: Decimal) -> None:
        self.level = float(price)
        self.ticks = self._round(self.level)
        self.high = max(self.high, self.ticks)
        self.low = min(self.low, self.ticks)


class Market:
    """Prices of every instrument, advanced to the clock's second on each read."""

    def __init__(self, seed: int, anchor_second: int) -> None:
        self.seed = seed
        self.anchor_second = anchor_second
        self._walks: dict[int, PriceWalk] = {}
        self.watchers: dict[int, Watcher] = {}

    def walk(self, instrument: Instrument, second: int) -> PriceWalk:
        """The instrument's walk, brought up to `second`."""
        token = instrument.instrument_token
        walk = self._walks.get(token)
        if walk is None:
            walk = self._walks[token] = PriceWalk(self.seed, instrument, self.anchor_second)
        if walk.second < second:
            walk.advance(second, self.watchers.get(token))
        return walk

    def price(self, instrument: Instrument, second: int) -> Decimal:
        return self.walk(instrument, second).price

    def set_price(self, instrument: Instrument, price: Decimal, second: int) -> None:
        """Move the price by decree and let resting orders react to it."""
        walk = self.walk(instrument, second)
        walk.set_price(price)
        watcher = self.watchers.get(instrument.instrument_token)
        if watcher is not None and (walk.ticks <= watcher.low or walk.ticks >= watcher.high):
            watcher.fire(walk.ticks, walk.second)

    def levels(self) -> dict[int, float]:
        return {token: walk.level for token, walk in self._walks.items()}

    def restore_levels(self, levels: dict[int, float], catalogue_items: list[Instrument]) -> None:
        """Resume walks from saved levels (used when loading a state file)."""
        for instrument in catalogue_items:
            level = levels.get(instrument.instrument_token)
            if level is not None:
                self.walk(instrument, self.anchor_second).set_price(Decimal(str(level)))
