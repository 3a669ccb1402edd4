"""Quote shapes shared by REST quotes and ticker packets: OHLC, depth and the full quote."""

from __future__ import annotations

from typing import Any

from .clock import format_timestamp, second_to_datetime
from .instruments import Instrument
from .prices import PriceWalk

DEPTH_LEVELS = 5


def ohlc_view(walk: PriceWalk) -> dict[str, Any]:
    tick = walk.tick
    return {
        "open": walk.open * tick,
        "high": walk.high * tick,
        "low": walk.low * tick,
        "close": walk.close * tick,
    }


def quote_view(item: Instrument, walk: PriceWalk) -> dict[str, Any]:
    close = walk.close * walk.tick
    moment = format_timestamp(second_to_datetime(walk.second))
    volume = walk.steps * (item.lot_size or 1) * 3
    return {
        "instrument_token": item.instrument_token,
        "timestamp": moment,
        "last_trade_time": moment,
        "last_price": walk.price,
        "last_quantity": item.lot_size or 1,
        "buy_quantity": volume // 4,
        "sell_quantity": volume // 4,
        "volume": volume,
        "average_price": (walk.high + walk.low) * walk.tick / 2,
        "oi": 0,
        "oi_day_high": 0,
        "oi_day_low": 0,
        "net_change": walk.price - close,
        "lower_circuit_limit": walk.lower * walk.tick if walk.percent else 0,
        "upper_circuit_limit": walk.upper * walk.tick if walk.percent else 0,
        "ohlc": ohlc_view(walk),
        "depth": depth_view(walk, item.lot_size or 1),
    }


def depth_view(walk: PriceWalk, lot: int) -> dict[str, list[dict[str, Any]]]:
    def side(sign: int) -> list[dict[str, Any]]:
        return [
            {
                "price": (walk.ticks + sign * level) * walk.tick,
                "quantity": lot * (level * 7 % 11 + 1),
                "orders": level % 3 + 1,
            }
            for level in range(1, DEPTH_LEVELS + 1)
        ]

    return {"buy": side(-1), "sell": side(1)}
