"""Rows to domain objects and back; the only code that knows both shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from order_service.adapters.db.crypto import SecretCipher
from order_service.domain.account import Account, Principal, Role, SessionState, Strategy
from order_service.domain.events import OrderEvent
from order_service.domain.ids import (
    AccountId,
    ClientOrderId,
    OrderId,
    StrategyId,
    UserId,
)
from order_service.domain.order import Order, OrderRequest, OrderSource
from order_service.domain.status import OrderStatus
from order_service.domain.values import (
    Exchange,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)

Values = dict[str, Any]


def order_values(order: Order) -> Values:
    """Return the columns of an order row (the version is the caller's business)."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "request_fingerprint": order.request_fingerprint,
        "tag": order.tag,
        "strategy_id": order.strategy_id,
        "user_id": order.user_id,
        **request_values(order.request),
        "status": order.status.value,
        "broker_order_id": order.broker_order_id,
        "broker_status": order.broker_status,
        "status_message": order.status_message,
        "exchange_order_id": order.exchange_order_id,
        "filled_quantity": order.filled_quantity,
        "average_price": order.average_price,
        "modification_count": order.modification_count,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "source": order.source.value,
        "placed_by": order.placed_by,
    }


def request_values(request: OrderRequest) -> Values:
    return {
        "account_id": request.account_id,
        "exchange": request.exchange.value,
        "tradingsymbol": request.tradingsymbol,
        "transaction_type": request.transaction_type.value,
        "quantity": request.quantity,
        "product": request.product.value,
        "order_type": request.order_type.value,
        "variety": request.variety.value,
        "price": request.price,
        "trigger_price": request.trigger_price,
        "validity": request.validity.value,
        "validity_ttl": request.validity_ttl,
        "disclosed_quantity": request.disclosed_quantity,
        "market_protection": request.market_protection,
        "request_tag": request.tag,
        "request_strategy_id": request.strategy_id,
    }


def order_from_row(row: RowMapping) -> Order:
    return Order(
        order_id=OrderId(row["order_id"]),
        client_order_id=ClientOrderId(row["client_order_id"]),
        request=request_from_row(row),
        request_fingerprint=row["request_fingerprint"],
        tag=row["tag"],
        strategy_id=StrategyId(row["strategy_id"]),
        user_id=UserId(row["user_id"]) if row["user_id"] is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=OrderStatus(row["status"]),
        broker_order_id=row["broker_order_id"],
        broker_status=row["broker_status"],
        status_message=row["status_message"],
        exchange_order_id=row["exchange_order_id"],
        filled_quantity=row["filled_quantity"],
        average_price=row["average_price"],
        modification_count=row["modification_count"],
        version=row["version"],
        source=OrderSource(row["source"]),
        placed_by=row["placed_by"],
    )


def request_from_row(row: RowMapping) -> OrderRequest:
    return OrderRequest(
        account_id=AccountId(row["account_id"]),
        exchange=Exchange(row["exchange"]),
        tradingsymbol=row["tradingsymbol"],
        transaction_type=TransactionType(row["transaction_type"]),
        quantity=row["quantity"],
        product=Product(row["product"]),
        order_type=OrderType(row["order_type"]),
        variety=Variety(row["variety"]),
        price=row["price"],
        trigger_price=row["trigger_price"],
        validity=Validity(row["validity"]),
        validity_ttl=row["validity_ttl"],
        disclosed_quantity=row["disclosed_quantity"],
        market_protection=row["market_protection"],
        tag=row["request_tag"],
        strategy_id=row["request_strategy_id"],
    )


def event_values(event: OrderEvent) -> Values:
    return {
        "order_id": event.order_id,
        "name": event.name,
        "status_before": event.status_before.value if event.status_before else None,
        "status_after": event.status_after.value,
        "data": event.data,
        "occurred_at": event.occurred_at,
    }


def event_from_row(row: RowMapping) -> OrderEvent:
    before = row["status_before"]
    return OrderEvent(
        order_id=OrderId(row["order_id"]),
        name=row["name"],
        occurred_at=row["occurred_at"],
        status_before=OrderStatus(before) if before is not None else None,
        status_after=OrderStatus(row["status_after"]),
        data=dict(row["data"]),
        sequence=row["sequence"],
    )


def account_values(account: Account, cipher: SecretCipher, now: datetime) -> Values:
    """Return the columns of an account row, secrets encrypted."""
    token = account.access_token
    return {
        "account_id": account.account_id,
        "name": account.name,
        "api_key": account.api_key,
        "api_secret_encrypted": cipher.encrypt(account.api_secret),
        "access_token_encrypted": cipher.encrypt(token) if token is not None else None,
        "token_expires_at": account.token_expires_at,
        "session_state": account.session_state.value,
        "removed_at": account.removed_at,
        "reconcile_since": account.reconcile_since,
        "created_at": account.created_at,
        "updated_at": now,
    }


def account_from_row(row: RowMapping, cipher: SecretCipher) -> Account:
    token = row["access_token_encrypted"]
    return Account(
        account_id=AccountId(row["account_id"]),
        api_key=row["api_key"],
        api_secret=cipher.decrypt(row["api_secret_encrypted"]),
        created_at=row["created_at"],
        access_token=cipher.decrypt(token) if token is not None else None,
        token_expires_at=row["token_expires_at"],
        session_state=SessionState(row["session_state"]),
        name=row["name"],
        removed_at=row["removed_at"],
        reconcile_since=row["reconcile_since"],
    )


def strategy_values(strategy: Strategy) -> Values:
    return {
        "strategy_id": strategy.strategy_id,
        "account_id": strategy.account_id,
        "name": strategy.name,
        "is_default": strategy.is_default,
        "created_at": strategy.created_at,
    }


def strategy_from_row(row: RowMapping) -> Strategy:
    return Strategy(
        strategy_id=StrategyId(row["strategy_id"]),
        account_id=AccountId(row["account_id"]),
        name=row["name"],
        is_default=row["is_default"],
        created_at=row["created_at"],
    )


def roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


def principal_from_row(row: RowMapping, account_ids: frozenset[AccountId]) -> Principal:
    roles = frozenset(Role(role) for role in row["roles"].split(",") if role)
    return Principal(UserId(row["user_id"]), row["name"], roles, account_ids)
