"""Candles and cover-order trigger ranges: /instruments/historical, /instruments/trigger_range."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from starlette.routing import Route

from ..clock import IST
from ..errors import InputError
from ..history import INTERVALS, History
from ..ratelimit import HISTORICAL, OTHER
from .guard import Call, kite_call
from .market import LTP_LIMIT, requested

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
# A cover order's stop must lie within this fraction of the last price, either way.
TRIGGER_RANGE = Decimal("0.05")


@kite_call("historical", HISTORICAL)
async def historical(call: Call) -> dict[str, Any]:
    params = call.request.path_params
    token, interval = params["instrument_token"], params["interval"]
    broker = call.broker
    instrument = broker.catalogue.by_token(int(token)) if token.isdigit() else None
    if instrument is None:
        raise InputError("invalid token")
    if interval not in INTERVALS:
        raise InputError("invalid interval")
    query = call.request.query_params
    start, end = _moment(query.get("from"), "from"), _moment(query.get("to"), "to")
    if end < start:
        raise InputError("from date cannot be after to date")
    span = INTERVALS[interval][1]
    if (end - start).days > span:
        raise InputError(f"interval exceeds max limit: {span} days")
    walk = broker.market.walk(instrument, broker.clock.second())
    history = History(instrument, walk, broker.market.seed, broker.market.anchor_second)
    return {"candles": history.candles(start, end, interval, query.get("oi") == "1")}


@kite_call("trigger_range", OTHER)
async def trigger_range(call: Call) -> dict[str, Any]:
    side = call.request.path_params["transaction_type"].lower()
    if side not in {"buy", "sell"}:
        raise InputError("Invalid `transaction_type`.")
    rows = {}
    for key, item, walk in requested(call, LTP_LIMIT):
        price, tick = walk.price, walk.tick
        rows[key] = {
            "instrument_token": item.instrument_token,
            "lower": _on_tick(price * (1 - TRIGGER_RANGE), tick, ROUND_CEILING),
            "upper": _on_tick(price * (1 + TRIGGER_RANGE), tick, ROUND_FLOOR),
        }
    return rows


def _on_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding) * tick


def _moment(raw: str | None, name: str) -> datetime:
    for layout in DATE_FORMATS:
        try:
            return datetime.strptime(raw or "", layout).replace(tzinfo=IST)
        except ValueError:
            continue
    raise InputError(f"invalid {name} date")


ROUTES = [
    Route("/instruments/historical/{instrument_token}/{interval}", historical, methods=["GET"]),
    Route("/instruments/trigger_range/{transaction_type}", trigger_range, methods=["GET"]),
]
