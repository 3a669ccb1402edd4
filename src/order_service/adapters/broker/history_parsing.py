"""Turn the SDK's historical candles into ``Candle``s, refusing what no chart can hold.

The SDK (``historical_data``) gives each candle as ``{"date", "open", "high", "low", "close",
"volume"(, "oi")}`` with the date parsed to an aware datetime. Every number goes through
``finite_decimal``: NaN, infinities and booleans are refused; an open or a close outside the
low and the high, a fractional or negative volume, or a date without its offset is malformed
too, and a malformed candle refuses the whole reply (``DataFormatError``): a chart with a hole
in it would pass for the market's. A price below zero is a price (MCX crude oil futures
settled below zero on 20 April 2020).
"""

from __future__ import annotations

from datetime import datetime
from decimal import InvalidOperation
from typing import Any

from order_service.adapters.broker.parsing import finite_decimal, whole
from order_service.domain.history import Candle
from order_service.errors import DataFormatError

_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, InvalidOperation)


def candles(data: object) -> list[Candle]:
    if not isinstance(data, list):
        raise DataFormatError("the broker sent candles that are not a list")
    try:
        return [_candle(row) for row in data]
    except _MALFORMED as exc:
        raise DataFormatError(
            "the broker sent a candle we cannot parse", details={"reason": repr(exc)}
        ) from exc


def _candle(row: dict[str, Any]) -> Candle:
    at = row["date"]
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ValueError(f"a candle's date without its offset: {at!r}")
    opened, high, low, close = (finite_decimal(row[k]) for k in ("open", "high", "low", "close"))
    if not low <= opened <= high:
        raise ValueError(f"a candle's prices out of their range: {row!r}")
    if not low <= close <= high:
        raise ValueError(f"a candle's close out of its range: {row!r}")
    volume = _count(row["volume"])
    oi = _count(row["oi"]) if "oi" in row else None
    return Candle(at, opened, high, low, close, volume, oi)


def _count(value: object) -> int:
    if value is None or value == "":
        raise ValueError("a count is missing")
    number = whole(value)
    if number < 0:
        raise ValueError(f"a negative count: {value!r}")
    return number
