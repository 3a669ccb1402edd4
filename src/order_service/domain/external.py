"""Orders placed outside the service (the Kite app or web), as the broker's order book shows them.

Our orders carry a tag derived from their ULID (``ids.tag_for``); a book row without a tag of
that shape was placed by someone else. Such an order is recorded as the book shows it: it
belongs to the account's default strategy, no user of ours placed it, it has no tag of ours
(so no order of ours can ever be matched to it), and its client order id is derived from its
broker id with a character no idempotency key may hold, so no caller's key can take it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from order_service.domain.events import EXTERNAL_ORDER_RECORDED, OrderEvent
from order_service.domain.ids import AccountId, ClientOrderId, OrderId, StrategyId
from order_service.domain.order import Order, OrderRequest, OrderSource
from order_service.domain.reports import OrderStatusReport
from order_service.domain.values import (
    Exchange,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)

# Twenty Crockford base32 characters: the shape of every tag ``tag_for`` derives.
_OUR_TAG = re.compile(r"[0-9A-HJKMNP-TV-Z]{20}")
EXTERNAL_KEY_PREFIX = "external/"


def has_our_tag_shape(tag: str | None) -> bool:
    """Return True if ``tag`` looks like one of ours (it may still match no order of ours)."""
    return tag is not None and _OUR_TAG.fullmatch(tag) is not None


def external_key(report: OrderStatusReport) -> ClientOrderId:
    return ClientOrderId(f"{EXTERNAL_KEY_PREFIX}{report.broker_order_id}")


def external_order(
    order_id: OrderId,
    account_id: AccountId,
    report: OrderStatusReport,
    strategy_id: StrategyId,
    at: datetime,
) -> Order | None:
    """Return the record of an order placed outside the service, or None if the row is unusable.

    Unusable: a status we cannot map, or terms that are missing or not Kite's (an exchange or
    product we do not know); such a row is counted by the caller and looked at again next pass.
    """
    status = report.status
    request = _request(account_id, report)
    if status is None or request is None:
        return None
    order = Order(
        order_id=order_id,
        client_order_id=external_key(report),
        request=request,
        request_fingerprint=request.fingerprint(),
        tag=None,
        strategy_id=strategy_id,
        user_id=None,
        created_at=report.placed_at or at,
        updated_at=at,
        status=status,
        broker_order_id=report.broker_order_id,
        broker_status=report.raw_status,
        status_message=report.status_message,
        exchange_order_id=report.exchange_order_id,
        filled_quantity=report.filled_quantity,
        average_price=report.average_price if report.filled_quantity else None,
        source=OrderSource.EXTERNAL,
    )
    order.pending_events.append(
        OrderEvent(order_id, EXTERNAL_ORDER_RECORDED, at, None, status, _recorded_data(order))
    )
    return order


def _request(account_id: AccountId, report: OrderStatusReport) -> OrderRequest | None:
    """The terms as the book shows them; the request names no strategy (the default holds it)."""
    if not report.quantity or not report.tradingsymbol:
        return None
    try:
        return OrderRequest(
            account_id=account_id,
            exchange=Exchange(report.exchange or ""),
            tradingsymbol=report.tradingsymbol,
            transaction_type=TransactionType(report.transaction_type or ""),
            quantity=report.quantity,
            product=Product(report.product or ""),
            order_type=OrderType(report.order_type or ""),
            variety=Variety(report.variety or Variety.REGULAR),
            price=report.price,
            trigger_price=report.trigger_price,
            validity=Validity(report.validity or Validity.DAY),
            validity_ttl=report.validity_ttl,
            disclosed_quantity=report.disclosed_quantity,
            tag=report.tag,
        )
    except ValueError:
        return None


def _recorded_data(order: Order) -> dict[str, Any]:
    request = order.request
    return {
        "broker_order_id": order.broker_order_id,
        "broker_status": order.broker_status,
        "tag": request.tag,
        "exchange": request.exchange.value,
        "tradingsymbol": request.tradingsymbol,
        "transaction_type": request.transaction_type.value,
        "quantity": request.quantity,
        "order_type": request.order_type.value,
        "filled_quantity": order.filled_quantity,
    }
