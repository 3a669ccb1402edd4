"""Book rows of orders placed outside the service (the Kite app or web), for every test tier."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from order_service.domain.ids import BrokerOrderId
from order_service.domain.reports import OrderStatusReport


def app_order_row(
    broker_order_id: str, raw_status: str = "OPEN", **overrides: Any
) -> OrderStatusReport:
    """Return the book row of a LIMIT BUY of 10 INFY placed in the Kite app, without a tag."""
    values: dict[str, Any] = {
        "broker_order_id": BrokerOrderId(broker_order_id),
        "raw_status": raw_status,
        "tag": None,
        "quantity": 10,
        "price": Decimal("1501.50"),
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "product": "CNC",
        "order_type": "LIMIT",
        "variety": "regular",
        "validity": "DAY",
    }
    return OrderStatusReport(**{**values, **overrides})
