"""Orders and trades: /orders, /orders/{variety}[/{order_id}], /orders/{id}[/trades], /trades."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ..ratelimit import ORDERS, OTHER
from ..validation import parse_place, parse_variety
from ..views import history_view, order_view, trade_view
from ..wire import form
from .guard import Call, kite_call


@kite_call("place_order", ORDERS)
async def place_order(call: Call) -> dict[str, Any]:
    variety = parse_variety(call.request.path_params["variety"])
    request = parse_place(await form(call.request), variety, call.broker.catalogue)
    order_ids = call.broker.exchange.place(call.user_id, request, call.rms_rejection)
    if not request.autoslice:
        return {"order_id": order_ids[0]}
    return {"order_id": order_ids[0], "children": [{"order_id": oid} for oid in order_ids]}


@kite_call("modify_order", ORDERS)
async def modify_order(call: Call) -> dict[str, Any]:
    parse_variety(call.request.path_params["variety"])
    order_id = call.request.path_params["order_id"]
    call.broker.exchange.modify(call.user_id, order_id, await form(call.request))
    return {"order_id": order_id}


@kite_call("cancel_order", OTHER)
async def cancel_order(call: Call) -> dict[str, Any]:
    parse_variety(call.request.path_params["variety"])
    order_id = call.request.path_params["order_id"]
    parent = call.request.query_params.get("parent_order_id")
    call.broker.exchange.cancel(call.user_id, order_id, parent)
    return {"order_id": order_id}


@kite_call("orders", OTHER)
async def orders(call: Call) -> list[dict[str, Any]]:
    book = call.broker.exchange.registry.user_orders.get(call.user_id, {})
    return [order_view(order) for order in book.values()]


@kite_call("order_history", OTHER)
async def order_history(call: Call) -> list[dict[str, Any]]:
    order_id = call.request.path_params["order_id"]
    return history_view(call.broker.exchange.registry.order(call.user_id, order_id))


@kite_call("order_trades", OTHER)
async def order_trades(call: Call) -> list[dict[str, Any]]:
    registry = call.broker.exchange.registry
    order = registry.order(call.user_id, call.request.path_params["order_id"])
    return [trade_view(trade) for trade in registry.order_trades.get(order.order_id, [])]


@kite_call("trades", OTHER)
async def trades(call: Call) -> list[dict[str, Any]]:
    own = call.broker.exchange.registry.trades.get(call.user_id, [])
    return [trade_view(trade) for trade in own]


ROUTES = [
    Route("/orders/{variety}", place_order, methods=["POST"]),
    Route("/orders", orders, methods=["GET"]),
    Route("/trades", trades, methods=["GET"]),
    Route("/orders/{order_id}", order_history, methods=["GET"]),
    Route("/orders/{order_id}/trades", order_trades, methods=["GET"]),
    Route("/orders/{variety}/{order_id}", modify_order, methods=["PUT"]),
    Route("/orders/{variety}/{order_id}", cancel_order, methods=["DELETE"]),
]
