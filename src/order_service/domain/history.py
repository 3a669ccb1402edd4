"""Historical candles: Kite's intervals, the span one request may cover, and a longer range
split into as many requests as it needs (KITE.md, "Historical interval names")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from order_service.errors import ValidationError

# The most requests one range may take (each is one of the account's 3 a second): a longer
# range is refused with this limit, never read half.
MAX_CALLS = 20
# The most candles one answer holds: a range that gives more is refused once they are read
# (about 66 days of NSE minute candles; a shorter range, or a longer interval, fits).
MAX_CANDLES = 25_000
# The days candles are asked for (the books' own range): no date arithmetic overflows inside.
FIRST = datetime(1990, 1, 1, tzinfo=UTC)
LAST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
_STEP = timedelta(seconds=1)  # Kite's times are to the second: a span starts after the last


class Interval(StrEnum):
    MINUTE = "minute"
    MINUTE_3 = "3minute"
    MINUTE_5 = "5minute"
    MINUTE_10 = "10minute"
    MINUTE_15 = "15minute"
    MINUTE_30 = "30minute"
    MINUTE_60 = "60minute"
    DAY = "day"

    @property
    def max_days(self) -> int:
        """The longest span, in days, that Kite answers in one request of this interval."""
        return _MAX_DAYS[self]


_MAX_DAYS = {
    Interval.MINUTE: 60,
    Interval.MINUTE_3: 100,
    Interval.MINUTE_5: 100,
    Interval.MINUTE_10: 100,
    Interval.MINUTE_15: 200,
    Interval.MINUTE_30: 200,
    Interval.MINUTE_60: 400,
    Interval.DAY: 2000,
}


@dataclass(frozen=True, slots=True)
class Candle:
    """One candle as the broker gives it: its start, prices, volume and open interest."""

    at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None = None


@dataclass(frozen=True, slots=True)
class CandleRequest:
    """One request of candles: an instrument (by token), an interval and a span it allows."""

    instrument_token: int
    interval: Interval
    start: datetime
    end: datetime
    oi: bool = False
    continuous: bool = False


def spans(start: datetime, end: datetime, interval: Interval) -> list[tuple[datetime, datetime]]:
    """Split ``start``..``end`` (both included) into the requests Kite answers: each at most
    the interval's span, the next starting a second after the one before ends."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("give times with their offset (IST is +05:30)", field="from")
    if start > end:
        raise ValidationError(
            "from is after to", field="from", details={"from": str(start), "to": str(end)}
        )
    if start < FIRST or end > LAST:
        raise ValidationError(
            f"candles are asked for between {FIRST.date()} and {LAST.date()}",
            field="from" if start < FIRST else "to",
        )
    # A day short of Kite's span, and never more than it, however Kite counts the ends.
    width = timedelta(days=interval.max_days - 1)
    found: list[tuple[datetime, datetime]] = []
    at = start
    while at <= end:
        if len(found) == MAX_CALLS:
            raise ValidationError(
                f"the range needs more than {MAX_CALLS} requests of {interval.value} candles"
                f" ({width.days} days each): ask for a shorter one",
                field="from",
                details={"limit": MAX_CALLS, "days_per_request": width.days},
            )
        last = min(at + width, end)
        found.append((at, last))
        at = last + _STEP
    return found


def joined(parts: list[list[Candle]]) -> list[Candle]:
    """The candles of consecutive spans as one series, each start once, in time order."""
    seen: set[datetime] = set()
    series: list[Candle] = []
    for part in parts:
        for candle in part:
            if candle.at not in seen:
                seen.add(candle.at)
                series.append(candle)
    series.sort(key=lambda candle: candle.at)
    return series
