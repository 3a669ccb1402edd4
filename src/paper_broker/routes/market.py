"""Market data: instrument dumps and quotes (full, OHLC, LTP)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ..broker import PaperBroker
from ..clock import format_timestamp, second_to_datetime
from ..errors import InputError
from ..instruments import Instrument, render_csv
from ..prices import PriceWalk
from ..ratelimit import OTHER, QUOTE
from ..wire import csv_response
from .guard import Call, kite_call

QUOTE_LIMIT = 500
LTP_LIMIT = 1000
DEPTH_LEVELS = 5
CIRCUIT = 10  # percent either side of the close


@kite_call("instruments", OTHER)
async def instruments(call: Call) -> Response:
    exchange = call.request.path_params.get("exchange")
    broker = call.broker
    second = broker.clock.second()
    rows = [
        item.csv_row(broker.market.price(item, second))
        for item in broker.catalogue.on_exchange(exchange.upper() if exchange else None)
    ]
    return csv_response(render_csv(rows))


@kite_call("quote", QUOTE)
async def quote(call: Call) -> dict[str, Any]:
    return {key: _full(key, item, walk) for key, item, walk in _requested(call, QUOTE_LIMIT)}


@kite_call("quote", QUOTE)
async def ohlc(call: Call) -> dict[str, Any]:
    return {
        key: {
            "instrument_token": item.instrument_token,
            "last_price": walk.price,
            "ohlc": _ohlc(walk),
        }
        for key, item, walk in _requested(call, LTP_LIMIT)
    }


@kite_call("quote", QUOTE)
async def ltp(call: Call) -> dict[str, Any]:
    return {
        key: {"instrument_token": item.instrument_token, "last_price": walk.price}
        for key, item, walk in _requested(call, LTP_LIMIT)
    }


def _requested(call: Call, limit: int) -> list[tuple[str, Instrument, PriceWalk]]:
    """Known instruments among the `i` parameters; unknown keys are silently left out."""
    keys = call.request.query_params.getlist("i")
    if len(keys) > limit:
        raise InputError(f"Too many instruments. Maximum allowed is {limit}.")
    return [(key, item, _walk(call.broker, item)) for key, item in _known(call.broker, keys)]


def _known(broker: PaperBroker, keys: list[str]) -> list[tuple[str, Instrument]]:
    found = ((key, broker.catalogue.by_key(key)) for key in dict.fromkeys(keys))
    return [(key, item) for key, item in found if item is not None]


def _walk(broker: PaperBroker, item: Instrument) -> PriceWalk:
    return broker.market.walk(item, broker.clock.second())


def _ohlc(walk: PriceWalk) -> dict[str, Any]:
    tick = walk.tick
    return {
        "open": walk.open * tick,
        "high": walk.high * tick,
        "low": walk.low * tick,
        "close": walk.close * tick,
    }


def _full(key: str, item: Instrument, walk: PriceWalk) -> dict[str, Any]:
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
        "lower_circuit_limit": walk.tick * int(walk.close * (100 - CIRCUIT) / 100),
        "upper_circuit_limit": walk.tick * int(walk.close * (100 + CIRCUIT) / 100),
        "ohlc": _ohlc(walk),
        "depth": _depth(walk, item.lot_size or 1),
    }


def _depth(walk: PriceWalk, lot: int) -> dict[str, list[dict[str, Any]]]:
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


ROUTES = [
    Route("/instruments", instruments, methods=["GET"]),
    Route("/instruments/{exchange}", instruments, methods=["GET"]),
    Route("/quote", quote, methods=["GET"]),
    Route("/quote/ohlc", ohlc, methods=["GET"]),
    Route("/quote/ltp", ltp, methods=["GET"]),
]
