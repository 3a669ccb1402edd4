"""The user's profile, funds and portfolio: /user/*, /portfolio/*."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ..errors import InputError
from ..ratelimit import OTHER
from ..views import position_view, profile_view, segment_view
from .guard import Call, kite_call

SEGMENTS = ("equity", "commodity")


@kite_call("profile", OTHER)
async def profile(call: Call) -> dict[str, Any]:
    return profile_view(call.broker.sessions.users[call.user_id])


@kite_call("margins", OTHER)
async def margins(call: Call) -> dict[str, Any]:
    account = call.broker.exchange.registry.accounts[call.user_id]
    return {"equity": segment_view(account), "commodity": segment_view(None)}


@kite_call("margins", OTHER)
async def segment_margins(call: Call) -> dict[str, Any]:
    segment = call.request.path_params["segment"]
    if segment not in SEGMENTS:
        raise InputError("Invalid segment in the request.")
    account = call.broker.exchange.registry.accounts[call.user_id]
    return segment_view(account if segment == "equity" else None)


@kite_call("positions", OTHER)
async def positions(call: Call) -> dict[str, Any]:
    broker = call.broker
    second = broker.clock.second()
    account = broker.exchange.registry.accounts[call.user_id]
    rows = []
    for position in account.positions.values():
        walk = broker.market.walk(position.instrument, second)
        rows.append(position_view(position, walk.price, walk.close * walk.tick))
    return {"net": rows, "day": [dict(row) for row in rows]}


@kite_call("holdings", OTHER)
async def holdings(call: Call) -> list[dict[str, Any]]:
    # Delivery never settles into holdings in the paper market (no T+1).
    return []


ROUTES = [
    Route("/user/profile", profile, methods=["GET"]),
    Route("/user/margins", margins, methods=["GET"]),
    Route("/user/margins/{segment}", segment_margins, methods=["GET"]),
    Route("/portfolio/positions", positions, methods=["GET"]),
    Route("/portfolio/holdings", holdings, methods=["GET"]),
]
