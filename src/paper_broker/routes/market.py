"""Market data: instrument dumps and quotes (full, OHLC, LTP)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from ..broker import PaperBroker
from ..errors import InputError
from ..instruments import Instrument, render_csv
from ..prices import PriceWalk
from ..quotes import ohlc_view, quote_view
from ..ratelimit import OTHER, QUOTE
from ..wire import csv_response
from .guard import Call, kite_call

QUOTE_LIMIT = 500
LTP_LIMIT = 1000


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
    return {key: quote_view(item, walk) for key, item, walk in requested(call, QUOTE_LIMIT)}


@kite_call("quote", QUOTE)
async def ohlc(call: Call) -> dict[str, Any]:
    return {
        key: {
            "instrument_token": item.instrument_token,
            "last_price": walk.price,
            "ohlc": ohlc_view(walk),
        }
        for key, item, walk in requested(call, LTP_LIMIT)
    }


@kite_call("quote", QUOTE)
async def ltp(call: Call) -> dict[str, Any]:
    return {
        key: {"instrument_token": item.instrument_token, "last_price": walk.price}
        for key, item, walk in requested(call, LTP_LIMIT)
    }


def requested(call: Call, limit: int) -> list[tuple[str, Instrument, PriceWalk]]:
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


ROUTES = [
    Route("/instruments", instruments, methods=["GET"]),
    Route("/instruments/{exchange}", instruments, methods=["GET"]),
    Route("/quote", quote, methods=["GET"]),
    Route("/quote/ohlc", ohlc, methods=["GET"]),
    Route("/quote/ltp", ltp, methods=["GET"]),
]
