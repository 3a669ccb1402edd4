"""Historical candles and trigger ranges through the SDK."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

from tests.moments import PAPER_CLOCK_START


def test_candles_parse_into_the_sdks_records(kite: KiteConnect) -> None:
    # Up to the last midnight: every candle is complete, so two reads must agree exactly
    # (the live bar of the current minute keeps changing).
    end = PAPER_CLOCK_START.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=10)

    candles = kite.historical_data(408065, start, end, "15minute", oi=True)

    assert len(candles) > 25 * 5
    first = candles[0]
    assert set(first) == {"date", "open", "high", "low", "close", "volume", "oi"}
    assert first["date"].utcoffset() == timedelta(hours=5, minutes=30)
    assert (first["date"].hour, first["date"].minute) == (9, 15)
    assert isinstance(first["volume"], int)
    assert all(row["low"] <= row["open"] <= row["high"] for row in candles)
    dates = [row["date"] for row in candles]
    assert dates == sorted(dates)
    assert kite.historical_data(408065, start, end, "15minute", oi=True) == candles


def test_day_candles_accept_plain_dates(kite: KiteConnect) -> None:
    candles = kite.historical_data(408065, "2024-01-01", "2024-03-31", "day")

    assert 60 <= len(candles) <= 66
    assert {row["date"].weekday() for row in candles} <= {0, 1, 2, 3, 4}
    assert "oi" not in candles[0]


@pytest.mark.parametrize(
    ("token", "interval", "start", "end", "message"),
    [
        (408065, "minute", "2024-01-01", "2024-03-15", "interval exceeds max limit: 60 days"),
        (408065, "day", "2010-01-01", "2024-03-15", "interval exceeds max limit: 2000 days"),
        (408065, "2minute", "2024-01-01", "2024-01-02", "invalid interval"),
        (1, "day", "2024-01-01", "2024-01-02", "invalid token"),
        (408065, "day", "2024-02-01", "2024-01-02", "from date cannot be after to date"),
        (408065, "day", "yesterday", "2024-01-02", "invalid from date"),
    ],
)
def test_bad_requests_are_input_exceptions(
    kite: KiteConnect, token: int, interval: str, start: str, end: str, message: str
) -> None:
    with pytest.raises(InputException, match=message) as raised:
        kite.historical_data(token, start, end, interval)

    assert raised.value.code == 400


def test_trigger_ranges_straddle_the_last_price(kite: KiteConnect) -> None:
    ranges = kite.trigger_range("BUY", "NSE:INFY", "NSE:NOPE")
    last = kite.ltp("NSE:INFY")["NSE:INFY"]["last_price"]

    assert set(ranges) == {"NSE:INFY"}
    infy = ranges["NSE:INFY"]
    assert infy["instrument_token"] == 408065
    assert infy["lower"] == pytest.approx(last * 0.95, abs=0.05)
    assert infy["upper"] == pytest.approx(last * 1.05, abs=0.05)
    assert kite.trigger_range("sell", "NSE:INFY") == ranges
