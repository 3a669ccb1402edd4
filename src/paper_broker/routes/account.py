"""The user's profile and funds: /user/*."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ..errors import InputError
from ..portfolio import segment_view
from ..ratelimit import OTHER
from ..views import profile_view
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


ROUTES = [
    Route("/user/profile", profile, methods=["GET"]),
    Route("/user/margins", margins, methods=["GET"]),
    Route("/user/margins/{segment}", segment_margins, methods=["GET"]),
]
