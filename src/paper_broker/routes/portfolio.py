"""Positions and holdings: /portfolio/positions (GET, PUT), /portfolio/holdings[/auctions]."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ..errors import invalid
from ..kite_enums import Product, TransactionType
from ..portfolio import holding_view, position_view
from ..ratelimit import OTHER
from ..validation import EXCHANGES, PRODUCTS, TRANSACTION_TYPES, Form
from ..wire import form
from .guard import Call, kite_call

POSITION_TYPES = frozenset({"day", "overnight"})


@kite_call("positions", OTHER)
async def positions(call: Call) -> dict[str, Any]:
    broker = call.broker
    second = broker.clock.second()
    account = broker.exchange.registry.accounts[call.user_id]
    net, day = [], []
    for position in account.positions.values():
        walk = broker.market.walk(position.instrument, second)
        close = walk.close * walk.tick
        net.append(position_view(position, walk.price, close))
        if position.buy_quantity or position.sell_quantity:
            day.append(position_view(position, walk.price, close, day=True))
    return {"net": net, "day": day}


@kite_call("positions", OTHER)
async def convert_position(call: Call) -> bool:
    fields = await form(call.request)
    instrument = call.broker.catalogue.find(
        _choice(fields, "exchange", EXCHANGES), fields.get("tradingsymbol", "")
    )
    if instrument is None:
        raise invalid("tradingsymbol")
    products = (_choice(fields, "old_product", PRODUCTS), _choice(fields, "new_product", PRODUCTS))
    account = call.broker.exchange.registry.accounts[call.user_id]
    account.convert(
        instrument,
        products,
        _choice(fields, "transaction_type", TRANSACTION_TYPES) == TransactionType.BUY,
        _quantity(fields),
        _choice(fields, "position_type", POSITION_TYPES) == "overnight",
    )
    return True


@kite_call("holdings", OTHER)
async def holdings(call: Call) -> list[dict[str, Any]]:
    broker = call.broker
    second = broker.clock.second()
    account = broker.exchange.registry.accounts[call.user_id]
    rows = []
    for holding in account.holdings.values():
        walk = broker.market.walk(holding.instrument, second)
        today = account.positions.get((holding.instrument.key, Product.CNC))
        sold = max(0, -today.quantity) if today is not None else 0
        rows.append(holding_view(holding, sold, walk.price, walk.close * walk.tick))
    return rows


@kite_call("holdings", OTHER)
async def auctions(call: Call) -> list[dict[str, Any]]:
    # The paper market never holds an auction for short deliveries.
    return []


def _choice(fields: Form, name: str, allowed: frozenset[str]) -> str:
    value = fields.get(name, "")
    if value not in allowed:
        raise invalid(name)
    return value


def _quantity(fields: Form) -> int:
    try:
        quantity = int(fields.get("quantity", ""))
    except ValueError as exc:
        raise invalid("quantity") from exc
    if quantity <= 0:
        raise invalid("quantity")
    return quantity


ROUTES = [
    Route("/portfolio/positions", positions, methods=["GET"]),
    Route("/portfolio/positions", convert_position, methods=["PUT"]),
    Route("/portfolio/holdings", holdings, methods=["GET"]),
    Route("/portfolio/holdings/auctions", auctions, methods=["GET"]),
]
