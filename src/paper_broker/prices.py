"""Seeded random-walk prices, one step per simulated second, computed lazily when read.

The walk of an instrument is a function of (seed, instrument token, seconds since the market's
anchor) only, so two runs with the same seed see the same prices at the same simulated second
whatever the order in which they read them. A watcher (the resting-order book of the instrument)
is consulted on every step so that a crossing between two reads is never missed.

A replay tape (replay.py) overrides the walk while the clock is inside it: each step takes the
tape's price instead of the walk's move, and after the tape's last row the walk goes on from
there. Watchers and bands see replayed steps exactly as walked ones.

Each walk also keeps the exchange's daily circuit band: the price never leaves
`close * (1 ± band)`, where `close` is the previous day's close (the reference price on the
first day) and the day turns at midnight IST. Bands are CIRCUIT_PERCENT by instrument type;
indices have none.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from .instruments import Instrument
from .liquidity import units_per_second
from .replay import Tape, tick_size

# One trading day of steps; a longer gap walks only its last day (the price is continuous).
MAX_CATCHUP_STEPS = 86_400
# Per-second volatility: about 1.5 % a day over a 6h15m session for stocks and futures.
STOCK_SIGMA = 0.015 / math.sqrt(22_500)
OPTION_SIGMA = STOCK_SIGMA * 4
NEVER_BELOW = -(10**18)
NEVER_ABOVE = 10**18
# Daily price bands in percent of the previous close: NSE's 10 % band for the stocks here and a
# like band for futures; options get a wide band since NSE sets theirs dynamically.
CIRCUIT_PERCENT = {"EQ": 10, "FUT": 10, "CE": 40, "PE": 40}
IST_OFFSET_SECONDS = 19_800
DAY_SECONDS = 86_400
# Minute bars kept for historical candles: 60 days, Kite's longest span for minute candles.
MAX_BARS = 60 * 1440


def next_midnight(second: int) -> int:
    """The first midnight IST strictly after `second` (epoch seconds)."""
    return second - (second + IST_OFFSET_SECONDS) % DAY_SECONDS + DAY_SECONDS


class Watcher(Protocol):
    """Fire when the price in ticks is at or below `low` or at or above `high`."""

    low: int
    high: int

    def fire(self, ticks: int, second: int) -> None: ...


class PriceWalk:
    """The walk of one instrument, kept in ticks so that comparisons are exact."""

    __slots__ = (
        "bars",
        "close",
        "day_end",
        "high",
        "level",
        "low",
        "lower",
        "open",
        "percent",
        "rng",
        "second",
        "sigma",
        "steps",
        "tape",
        "tick",
        "ticks",
        "upper",
    )

    def __init__(
        self, seed: int, instrument: Instrument, anchor_second: int, tape: Tape | None = None
    ) -> None:
        self.tick = tick_size(instrument)
        self.tape = tape
        # Reproducible by design: prices must repeat under a seed.
        self.rng = random.Random(f"{seed}:{instrument.instrument_token}")  # noqa: S311
        self.sigma = OPTION_SIGMA if instrument.segment == "NFO-OPT" else STOCK_SIGMA
        self.percent = (
            0
            if instrument.segment == "INDICES"
            else CIRCUIT_PERCENT.get(instrument.instrument_type, 0)
        )
        self.second = anchor_second
        self.day_end = next_midnight(anchor_second)
        self.steps = 0
        self.level = float(instrument.base_price)
        self.ticks = self._round(self.level)
        # A tape already begun (or done) at the start sets the price the walk starts from.
        self._replay_since(None)
        self.bars: deque[list[int]] = deque(maxlen=MAX_BARS)
        self.close = self.open = self.high = self.low = self.ticks
        self.lower, self.upper = 1, NEVER_ABOVE
        self._start_day()

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
            skipped_from, self.second = self.second, second - MAX_CATCHUP_STEPS
            self._replay_since(skipped_from)
            if self.second >= self.day_end:
                self.day_end = next_midnight(self.second)
                self._start_day()
        while self.second < second:
            self._step()
            if watcher is not None and (self.ticks <= watcher.low or self.ticks >= watcher.high):
                watcher.fire(self.ticks, self.second)

    def _step(self) -> None:
        self.second += 1
        self.steps += 1
        if self.second >= self.day_end:
            self.day_end += DAY_SECONDS
            self._start_day()
        self.level *= math.exp(self.sigma * self.rng.gauss(0.0, 1.0))
        if self.tape is not None and (replayed := self.tape.price_at(self.second)) is not None:
            self.level = float(replayed * self.tick)
        self._settle(self._round(self.level))

    def _replay_since(self, after: int | None) -> None:
        """Take the tape's last price of (after, now]: seconds the walk jumps over still count."""
        replayed = None if self.tape is None else self.tape.last_between(after, self.second)
        if replayed is not None:
            self.level = float(replayed * self.tick)
            self.ticks = replayed

    def set_price(self, price: Decimal) -> None:
        """Move to `price`, held inside the day's band."""
        self.level = float(price)
        self._settle(self._round(self.level))

    def _settle(self, ticks: int) -> None:
        if not self.lower <= ticks <= self.upper:
            # The exchange freezes the price at the band; the walk resumes from there.
            ticks = min(max(ticks, self.lower), self.upper)
            self.level = ticks * float(self.tick)
        self.ticks = ticks
        self.high = max(self.high, ticks)
        self.low = min(self.low, ticks)
        self._record(ticks)

    def _start_day(self) -> None:
        """Yesterday's last price becomes the close the new day's band is measured from."""
        self.close = self.open = self.high = self.low = self.ticks
        if self.percent:
            self.lower = max(1, math.ceil(self.close * (100 - self.percent) / 100))
            self.upper = math.floor(self.close * (100 + self.percent) / 100)
        else:
            self.lower, self.upper = 1, NEVER_ABOVE

    def _record(self, ticks: int) -> None:
        """Keep [minute, open, high, low, close] bars for historical candles."""
        minute = self.second // 60
        bars = self.bars
        if not bars or bars[-1][0] != minute:
            bars.append([minute, ticks, ticks, ticks, ticks])
            return
        bar = bars[-1]
        bar[2] = max(bar[2], ticks)
        bar[3] = min(bar[3], ticks)
        bar[4] = ticks

    def recentre(self, level: float) -> None:
        """Restart the day at `level`: a saved price becomes the close its band is measured from."""
        self.level = level
        self.ticks = self._round(level)
        self._start_day()

    def in_band(self, price: Decimal) -> bool:
        ticks = price / self.tick
        return self.lower <= ticks <= self.upper


class Market:
    """Prices of every instrument, advanced to the clock's second on each read."""

    def __init__(
        self, seed: int, anchor_second: int, tapes: Mapping[int, Tape] | None = None
    ) -> None:
        self.seed = seed
        self.anchor_second = anchor_second
        self.tapes = tapes or {}
        self._walks: dict[int, PriceWalk] = {}
        self.watchers: dict[int, Watcher] = {}

    def walk(self, instrument: Instrument, second: int) -> PriceWalk:
        """The instrument's walk, brought up to `second`."""
        token = instrument.instrument_token
        walk = self._walks.get(token)
        if walk is None:
            tape = self.tapes.get(token)
            walk = self._walks[token] = PriceWalk(self.seed, instrument, self.anchor_second, tape)
        if walk.second < second:
            walk.advance(second, self.watchers.get(token))
        return walk

    def price(self, instrument: Instrument, second: int) -> Decimal:
        return self.walk(instrument, second).price

    def set_price(self, instrument: Instrument, price: Decimal, second: int) -> Decimal:
        """Move the price by decree (inside the band) and let resting orders react to it."""
        walk = self.walk(instrument, second)
        walk.set_price(price)
        watcher = self.watchers.get(instrument.instrument_token)
        if watcher is not None and (walk.ticks <= watcher.low or walk.ticks >= watcher.high):
            watcher.fire(walk.ticks, walk.second)
        return walk.price

    def volume(self, instrument: Instrument, second: int) -> int:
        """Units one order can trade in `second`."""
        return units_per_second(instrument, second, self.seed)

    def levels(self) -> dict[int, float]:
        return {token: walk.level for token, walk in self._walks.items()}

    def restore_levels(self, levels: dict[int, float], catalogue_items: list[Instrument]) -> None:
        """Resume walks from saved levels (used when loading a state file)."""
        for instrument in catalogue_items:
            level = levels.get(instrument.instrument_token)
            if level is not None:
                self.walk(instrument, self.anchor_second).recentre(level)
