"""Margins and charges of prospective orders: /margins/orders, /margins/basket, /charges/orders."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.routing import Route

from ..broker import PaperBroker
from ..charges import order_charges
from ..errors import InputError, invalid
from ..instruments import Instrument
from ..kite_enums import OrderType, Variety
from ..margins import MarginOrder, basket, compact, order_margin
from ..ratelimit import OTHER
from ..validation import EXCHANGES, MAX_PRICE, MAX_QUANTITY, PRODUCTS, TRANSACTION_TYPES
from ..wire import json_body
from .guard import Call, kite_call

TRUE = "true"


@kite_call("order_margins", OTHER)
async def orders_margins(call: Call) -> list[dict[str, Any]]:
    orders = await _orders(call, "price")
    account = call.broker.exchange.registry.accounts[call.user_id]
    day = call.broker.clock.now().date()
    return [order_margin(account, order, day) for order in orders]


@kite_call("order_margins", OTHER)
async def basket_margins(call: Call) -> dict[str, Any]:
    params = call.request.query_params
    # The SDK sends Python's capitalised booleans: `True`/`False`.
    with_positions = params.get("consider_positions", TRUE).lower() == TRUE
    orders = await _orders(call, "price")
    account = call.broker.exchange.registry.accounts[call.user_id]
    day = call.broker.clock.now().date()
    result = basket(account, orders, day, with_positions=with_positions)
    return compact(result) if params.get("mode") == "compact" else result


@kite_call("charges", OTHER)
async def contract_note(call: Call) -> list[dict[str, Any]]:
    orders = await _orders(call, "average_price")
    day = call.broker.clock.now().date()
    return [
        {
            "transaction_type": order.transaction_type,
            "tradingsymbol": order.instrument.tradingsymbol,
            "exchange": order.instrument.exchange,
            "variety": order.variety,
            "product": order.product,
            "order_type": order.order_type,
            "quantity": order.quantity,
            "price": order.price,
            "charges": order_charges(
                order.instrument, order.product, order.is_buy, order.quantity, order.price, day
            ),
        }
        for order in orders
    ]


async def _orders(call: Call, price_field: str) -> list[MarginOrder]:
    body = await json_body(call.request)
    if not isinstance(body, list) or not body:
        raise InputError("Send a JSON array of orders.")
    return [_order(call.broker, item, price_field) for item in body]


def _order(broker: PaperBroker, item: Any, price_field: str) -> MarginOrder:
    if not isinstance(item, dict):
        raise invalid("orders")
    instrument = _instrument(broker, item)
    price = _number(item, price_field)
    if not price:
        # A market order is valued at the last price, as Kite does.
        price = broker.market.price(instrument, broker.clock.second())
    return MarginOrder(
        instrument=instrument,
        transaction_type=_choice(item, "transaction_type", TRANSACTION_TYPES),
        variety=str(item.get("variety") or Variety.REGULAR),
        product=_choice(item, "product", PRODUCTS),
        order_type=str(item.get("order_type") or OrderType.MARKET),
        quantity=_quantity(item),
        price=price,
    )


def _instrument(broker: PaperBroker, item: dict[str, Any]) -> Instrument:
    exchange = _choice(item, "exchange", EXCHANGES)
    instrument = broker.catalogue.find(exchange, str(item.get("tradingsymbol", "")))
    if instrument is None or not instrument.is_tradable:
        raise invalid("tradingsymbol")
    return instrument


def _choice(item: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = item.get(name)
    if value not in allowed:
        raise invalid(name)
    return str(value)


def _quantity(item: dict[str, Any]) -> int:
    value = item.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUANTITY:
        raise invalid("quantity")
    return value


def _number(item: dict[str, Any], name: str) -> Decimal:
    raw = item.get(name) or 0
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise invalid(name) from exc
    if isinstance(raw, bool) or not value.is_finite() or not 0 <= value < MAX_PRICE:
        raise invalid(name)
    return value


ROUTES = [
    Route("/margins/orders", orders_margins, methods=["POST"]),
    Route("/margins/basket", basket_margins, methods=["POST"]),
    Route("/charges/orders", contract_note, methods=["POST"]),
]
