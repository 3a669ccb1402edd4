"""Orders the paper exchange places on a client's behalf: cover-order stops and iceberg legs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from .ids import IdFactory
from .kite_enums import OrderType, Product, TransactionType, Validity, Variety
from .orders import TRIGGER_PENDING, Order, OrderState, received_state


def cover_leg(entry: Order, ids: IdFactory, now: datetime) -> Order:
    """The system-placed stop-loss leg of a filled cover order, already at the exchange."""
    state = OrderState(
        status=TRIGGER_PENDING,
        order_type=OrderType.SL_M,
        quantity=entry.state.quantity,
        price=Decimal(0),
        trigger_price=entry.state.trigger_price,
        validity=Validity.DAY,
        disclosed_quantity=0,
        # A limit entry may carry no protection; the system's stop leg uses the automatic one.
        market_protection=entry.state.market_protection or Decimal(-1),
        order_timestamp=now,
        exchange_order_id=ids.exchange_order_id(),
        exchange_timestamp=now,
        exchange_update_timestamp=now,
    )
    return Order(
        order_id=ids.order_id(now),
        user_id=entry.user_id,
        variety=Variety.CO,
        instrument=entry.instrument,
        transaction_type=TransactionType.SELL if entry.is_buy else TransactionType.BUY,
        product=Product.CO,
        state=state,
        guid=ids.guid(entry.user_id),
        tag=entry.tag,
        parent_order_id=entry.order_id,
        history=[state],
    )


def iceberg_meta(leg: int, legs: int, leg_quantity: int, total: int, placed: int) -> dict[str, Any]:
    """Kite's `meta.iceberg`; `remaining_quantity` is what no leg has been placed for yet."""
    return {
        "iceberg": {
            "leg": leg,
            "legs": legs,
            "leg_quantity": leg_quantity,
            "total_quantity": total,
            "remaining_quantity": total - placed,
        }
    }


def next_iceberg_leg(done: Order, ids: IdFactory, now: datetime) -> Order | None:
    """The leg after a completed iceberg leg, carrying the margin blocked for the rest."""
    iceberg = done.meta.get("iceberg")
    if not iceberg or not iceberg["remaining_quantity"]:
        return None
    quantity = min(iceberg["leg_quantity"], iceberg["remaining_quantity"])
    placed = iceberg["total_quantity"] - iceberg["remaining_quantity"] + quantity
    state = received_state(done.state, quantity, now)
    leg = replace(
        done,
        order_id=ids.order_id(now),
        guid=ids.guid(done.user_id),
        state=state,
        meta=iceberg_meta(
            iceberg["leg"] + 1,
            iceberg["legs"],
            iceberg["leg_quantity"],
            iceberg["total_quantity"],
            placed,
        ),
        system_tags=list(done.system_tags),
        modifications=0,
        blocked_margin=done.blocked_margin,
        history=[state],
    )
    done.blocked_margin = Decimal(0)
    return leg
