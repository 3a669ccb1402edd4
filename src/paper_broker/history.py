"""Historical candles: a seeded synthetic past that ends where the live walk starts, then the
minute bars the walk recorded since.

Before the market's anchor (the broker's start) each weekday is a trading day whose close is
derived backwards from the instrument's reference price by seeded daily returns; its minutes
(09:15-15:30 IST) are a seeded Brownian bridge from the day's open to its close, kept inside the
day's high and low. From the anchor on, candles are the walk's own minute bars. Volumes are a
quarter of what the paper market would fill; OI is synthetic for derivatives, zero for stocks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from .clock import IST
from .instruments import Instrument
from .liquidity import units_per_second
from .prices import PriceWalk

# interval: (minutes per candle, 0 for a day; longest span in days per request)
INTERVALS = {
    "minute": (1, 60),
    "3minute": (3, 100),
    "5minute": (5, 100),
    "10minute": (10, 100),
    "15minute": (15, 200),
    "30minute": (30, 200),
    "60minute": (60, 400),
    "day": (0, 2000),
}
SESSION_START = time(9, 15)
SESSION_OPEN_SECONDS = (9 * 60 + 15) * 60
IST_OFFSET = 19_800
DAY = 86_400
SESSION_MINUTES = 375
DAILY_SIGMA = 0.015
MAX_PAST_DAYS = 3660  # the synthetic past reaches back about ten years

Candle = list[object]


@dataclass(frozen=True, slots=True)
class Bar:
    start: int  # epoch seconds
    open: float
    high: float
    low: float
    close: float
    volume: int


class History:
    """Candles of one instrument under one seed."""

    def __init__(self, instrument: Instrument, walk: PriceWalk, seed: int, anchor: int) -> None:
        self.instrument = instrument
        self.walk = walk
        self.seed = seed
        self.anchor_day = datetime.fromtimestamp(anchor, IST).date()
        self.sigma = DAILY_SIGMA * (4 if instrument.segment == "NFO-OPT" else 1)
        self.tick = float(walk.tick)

    def candles(self, start: datetime, end: datetime, interval: str, oi: bool) -> list[Candle]:
        minutes = INTERVALS[interval][0]
        bars = list(self._days(start, end)) if not minutes else list(self._minutes(start, end))
        merged = bars if minutes <= 1 else _merge(bars, minutes)
        first, last = start.timestamp(), end.timestamp()
        return [self._row(bar, oi) for bar in merged if first <= bar.start <= last]

    def _days(self, start: datetime, end: datetime) -> Iterator[Bar]:
        closes = self._closes(start.date())
        for day in _weekdays(start.date(), end.date()):
            if day in closes:
                yield self._day_bar(day, closes)
        by_day: dict[date, list[Bar]] = {}
        for bar in self._live():
            day = datetime.fromtimestamp(bar.start, IST).date()
            if day >= self.anchor_day:
                by_day.setdefault(day, []).append(bar)
        for day, bars in by_day.items():
            yield _combine(_epoch(day, time(0)), bars)

    def _minutes(self, start: datetime, end: datetime) -> Iterator[Bar]:
        closes = self._closes(start.date())
        for day in _weekdays(start.date(), end.date()):
            if day in closes:
                yield from self._day_minutes(self._day_bar(day, closes))
        yield from self._live()

    def _closes(self, first: date) -> dict[date, float]:
        """Synthetic closes from `first` (and the weekday before) up to the eve of the anchor.

        They step back from the reference price by each later day's seeded return.
        """
        floor = max(_previous_weekday(first), self.anchor_day - timedelta(days=MAX_PAST_DAYS))
        days = list(_weekdays(floor, self.anchor_day - timedelta(days=1)))
        closes: dict[date, float] = {}
        level = float(self.instrument.base_price)
        for day in reversed(days):
            closes[day] = level
            level /= math.exp(self._rng(day, "close").gauss(0, self.sigma))
        return closes

    def _live(self) -> Iterator[Bar]:
        tick = self.tick
        for minute, first, high, low, last in self.walk.bars:
            volume = self._volume(minute * 60, 60)
            yield Bar(minute * 60, first * tick, high * tick, low * tick, last * tick, volume)

    def _day_bar(self, day: date, closes: dict[date, float]) -> Bar:
        last = closes[day]
        first = closes.get(_previous_weekday(day), last)
        rng = self._rng(day, "range")
        high = max(first, last) * math.exp(abs(rng.gauss(0, self.sigma)) / 2)
        low = min(first, last) * math.exp(-abs(rng.gauss(0, self.sigma)) / 2)
        start = _epoch(day, time(0))
        return Bar(start, first, high, low, last, self._volume(start, SESSION_MINUTES * 60))

    def _day_minutes(self, whole: Bar) -> Iterator[Bar]:
        """The day's minutes: a bridge from its open to its close inside its high and low."""
        day = datetime.fromtimestamp(whole.start, IST).date()
        rng = self._rng(day, "minutes")
        sigma = self.sigma / math.sqrt(SESSION_MINUTES)
        steps = [rng.gauss(0, sigma) for _ in range(SESSION_MINUTES)]
        drift, total = math.log(whole.close / whole.open), sum(steps)
        walked, price = 0.0, whole.open
        moment = _epoch(day, SESSION_START)
        for index, step in enumerate(steps, start=1):
            walked += step
            level = whole.open * math.exp((drift - total) * index / SESSION_MINUTES + walked)
            level = min(max(level, whole.low), whole.high)
            volume = self._volume(moment, 60)
            yield Bar(moment, price, max(price, level), min(price, level), level, volume)
            price, moment = level, moment + 60

    def _rng(self, day: date, purpose: str) -> random.Random:
        # Reproducible by design: the past must repeat under a seed.
        token = self.instrument.instrument_token
        return random.Random(f"{self.seed}:{token}:{day.toordinal()}:{purpose}")  # noqa: S311

    def _volume(self, second: int, seconds: int) -> int:
        return units_per_second(self.instrument, second, self.seed) * seconds // 4

    def _row(self, bar: Bar, oi: bool) -> Candle:
        row: Candle = [
            datetime.fromtimestamp(bar.start, IST).strftime("%Y-%m-%dT%H:%M:%S%z"),
            *(self._price(value) for value in (bar.open, bar.high, bar.low, bar.close)),
            bar.volume,
        ]
        if oi:
            row.append(0 if self.instrument.is_equity else bar.volume * 40)
        return row

    def _price(self, value: float) -> Decimal:
        ticks = max(1, round(value / self.tick))
        return ticks * self.walk.tick


def _weekdays(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def _previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _merge(bars: list[Bar], minutes: int) -> list[Bar]:
    """Minute bars into `minutes`-long candles aligned on 09:15 IST."""
    size = minutes * 60
    groups: dict[int, list[Bar]] = {}
    for bar in bars:
        # Seconds since 09:15 IST of the bar's day, IST being UTC+05:30.
        since_open = (bar.start + IST_OFFSET - SESSION_OPEN_SECONDS) % DAY
        groups.setdefault(bar.start - since_open % size, []).append(bar)
    return [_combine(start, group) for start, group in groups.items()]


def _epoch(day: date, moment: time) -> int:
    return int(datetime.combine(day, moment, IST).timestamp())


def _combine(start: int, bars: list[Bar]) -> Bar:
    return Bar(
        start,
        bars[0].open,
        max(bar.high for bar in bars),
        min(bar.low for bar in bars),
        bars[-1].close,
        sum(bar.volume for bar in bars),
    )
