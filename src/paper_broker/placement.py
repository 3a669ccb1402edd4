"""How a place request becomes orders, and how a modification changes an order's terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .kite_enums import TransactionType, Variety
from .legs import iceberg_meta
from .orders import AMO_REQ_RECEIVED, PUT_ORDER_REQ_RECEIVED, Order, OrderState, received_state
from .validation import PlaceRequest, Terms


def is_buy(request: PlaceRequest) -> bool:
    return request.transaction_type == TransactionType.BUY


def initial_state(request: PlaceRequest, quantity: int, now: datetime) -> OrderState:
    status = AMO_REQ_RECEIVED if request.variety == Variety.AMO else PUT_ORDER_REQ_RECEIVED
    return received_state(request.terms, quantity, now, status)


def slices(request: PlaceRequest) -> list[int]:
    """Autoslice splits at the freeze quantity; otherwise one order."""
    quantity, freeze = request.terms.quantity, request.instrument.freeze_quantity
    if not request.autoslice or not freeze or quantity <= freeze:
        return [quantity]
    return [freeze] * (quantity // freeze) + ([quantity % freeze] if quantity % freeze else [])


def first_leg(request: PlaceRequest, quantity: int) -> int:
    """An iceberg shows only its first leg; the exchange places the next ones as legs fill."""
    if request.variety == Variety.ICEBERG and request.iceberg_quantity:
        return min(request.iceberg_quantity, quantity)
    return quantity


def tag_slices(orders: list[Order]) -> None:
    parent = orders[0].order_id
    for order in orders:
        order.system_tags = ["autoslice", f"autoslice:{parent}"]


def meta(request: PlaceRequest, leg_quantity: int) -> dict[str, Any]:
    if (
        request.variety != Variety.ICEBERG
        or not request.iceberg_legs
        or not request.iceberg_quantity
    ):
        return {}
    total = request.terms.quantity
    return iceberg_meta(1, request.iceberg_legs, request.iceberg_quantity, total, leg_quantity)


def current_terms(order: Order) -> Terms:
    state = order.state
    return Terms(
        order_type=state.order_type,
        quantity=state.quantity,
        price=state.price,
        trigger_price=state.trigger_price,
        validity=state.validity,
        disclosed_quantity=state.disclosed_quantity,
        market_protection=state.market_protection,
        validity_ttl=order.validity_ttl,
    )


def changes(terms: Terms) -> dict[str, Any]:
    return {
        "order_type": terms.order_type,
        "quantity": terms.quantity,
        "price": terms.price,
        "trigger_price": terms.trigger_price,
        "validity": terms.validity,
        "disclosed_quantity": terms.disclosed_quantity,
        "market_protection": terms.market_protection,
    }
