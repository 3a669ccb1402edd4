"""Factories for test data: valid by default, any field overridable."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from order_service.domain.ids import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    StrategyId,
    UserId,
    new_order_id,
    tag_for,
)
from order_service.domain.order import Order, OrderRequest
from order_service.domain.reports import OrderStatusReport
from order_service.domain.values import Exchange, OrderType, Product, TransactionType

ACCOUNT = AccountId("PAPER1")
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:30 IST, the FakeClock's start
LIMIT_PRICE = Decimal("1520.50")


def make_request(**overrides: Any) -> OrderRequest:
    """Return a valid MARKET BUY of 10 INFY on NSE (CNC) for PAPER1."""
    fields: dict[str, Any] = {
        "account_id": ACCOUNT,
        "exchange": Exchange.NSE,
        "tradingsymbol": "INFY",
        "transaction_type": TransactionType.BUY,
        "quantity": 10,
        "product": Product.CNC,
        "order_type": OrderType.MARKET,
    }
    fields.update(overrides)
    return OrderRequest.create(**fields)


def make_limit_request(**overrides: Any) -> OrderRequest:
    """Return a valid LIMIT BUY at 1520.50; rests OPEN at the FakeBroker."""
    fields: dict[str, Any] = {"order_type": OrderType.LIMIT, "price": LIMIT_PRICE}
    fields.update(overrides)
    return make_request(**fields)


def make_order(**overrides: Any) -> Order:
    """Return a NEW order for ``make_request()`` unless told otherwise."""
    request = overrides.pop("request", None) or make_request()
    order_id = overrides.pop("order_id", None) or new_order_id()
    fields: dict[str, Any] = {
        "order_id": order_id,
        "client_order_id": ClientOrderId(order_id),
        "request": request,
        "request_fingerprint": request.fingerprint(),
        "tag": tag_for(order_id),
        "strategy_id": StrategyId("STRATEGY1"),
        "user_id": UserId("USER1"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Order(**fields)


def make_report(raw_status: str = "OPEN", **overrides: Any) -> OrderStatusReport:
    """Return a broker snapshot of a 10-share order in ``raw_status``."""
    fields: dict[str, Any] = {
        "broker_order_id": BrokerOrderId("0000000000001"),
        "raw_status": raw_status,
        "quantity": 10,
        "price": LIMIT_PRICE,
    }
    fields.update(overrides)
    return OrderStatusReport(**fields)
