"""Rows to domain objects and back; the only code that knows both shapes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Row, RowMapping

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.tables import orders
from order_service.domain.account import (
    Account,
    Principal,
    Role,
    SessionState,
    Strategy,
    UserInfo,
)
from order_service.domain.control import ControlMode
from order_service.domain.events import OrderEvent
from order_service.domain.ids import (
    AccountId,
    OrderId,
    PortfolioId,
    StrategyId,
    UserId,
)
from order_service.domain.order import Order, OrderOrigin, OrderRequest, OrderSource
from order_service.domain.portfolio import Portfolio
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
E = TypeVar("E", bound=Enum)


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
        "origin": order.origin.value,
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
        "auction_number": request.auction_number,
    }


def _members(enum: type[E]) -> Callable[[str], E]:
    """Return the enum's lookup by value: a dict read, the Enum call only for a miss.

    Both passes of a reconciliation map every order of the book, eight enums each; an Enum
    call costs several times a dict read, and a miss still raises the Enum's ``ValueError``.
    """
    by_value = {member.value: member for member in enum}

    def member(value: str) -> E:
        found = by_value.get(value)
        return found if found is not None else enum(value)

    return member


_EXCHANGE = _members(Exchange)
_TRANSACTION_TYPE = _members(TransactionType)
_PRODUCT = _members(Product)
_ORDER_TYPE = _members(OrderType)
_VARIETY = _members(Variety)
_VALIDITY = _members(Validity)
_STATUS = _members(OrderStatus)
_SOURCE = _members(OrderSource)
_ORIGIN = _members(OrderOrigin)


# The columns of an order row, by name, in ``select(orders)``'s order.
_COLUMN = {column.name: position for column, position in zip(orders.c, itertools.count())}
# One C call takes an order's values out of its row, in the constructors' order.
_ORDER_VALUES = itemgetter(
    *(
        _COLUMN[name]
        for name in (
            "order_id", "client_order_id", "request_fingerprint", "tag", "strategy_id",
            "user_id", "created_at", "updated_at", "status", "broker_order_id", "broker_status",
            "status_message", "exchange_order_id", "filled_quantity", "average_price",
            "modification_count", "version", "source", "placed_by", "origin",
        )
    )
)  # fmt: skip
_REQUEST_VALUES = itemgetter(
    *(
        _COLUMN[name]
        for name in (
            "account_id", "exchange", "tradingsymbol", "transaction_type", "quantity",
            "product", "order_type", "variety", "price", "trigger_price", "validity",
            "validity_ttl", "disclosed_quantity", "market_protection", "request_tag",
            "request_strategy_id", "auction_number",
        )
    )
)  # fmt: skip


def order_from_row(row: Row[Any]) -> Order:
    """Rebuild an order from a row of ``select(orders)``, read by position.

    A reconciliation pass rebuilds every order of the book: by position, with the enums looked
    up by value, that costs about half of reading the row by column name.
    """
    # ids are NewTypes of str (identity at run time), so the row's strings are taken as they are.
    (
        order_id, client_order_id, fingerprint, tag, strategy_id, user_id, created_at,
        updated_at, status, broker_order_id, broker_status, status_message, exchange_order_id,
        filled_quantity, average_price, modification_count, version, source, placed_by, origin,
    ) = _ORDER_VALUES(row)  # fmt: skip
    return Order(
        order_id, client_order_id, _request_from_row(row), fingerprint, tag, strategy_id,
        user_id, created_at, updated_at, _STATUS(status), broker_order_id, broker_status,
        status_message, exchange_order_id, filled_quantity, average_price, modification_count,
        version, _SOURCE(source), placed_by, _ORIGIN(origin),
    )  # fmt: skip


def _request_from_row(row: Row[Any]) -> OrderRequest:
    (
        account_id, exchange, tradingsymbol, transaction_type, quantity, product, order_type,
        variety, price, trigger_price, validity, validity_ttl, disclosed_quantity,
        market_protection, request_tag, request_strategy_id, auction_number,
    ) = _REQUEST_VALUES(row)  # fmt: skip
    return OrderRequest(
        account_id, _EXCHANGE(exchange), tradingsymbol, _TRANSACTION_TYPE(transaction_type),
        quantity, _PRODUCT(product), _ORDER_TYPE(order_type), _VARIETY(variety), price,
        trigger_price, _VALIDITY(validity), validity_ttl, disclosed_quantity, market_protection,
        request_tag, request_strategy_id, auction_number=auction_number,
    )  # fmt: skip


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
        control_mode=ControlMode(row["control_mode"]),
    )


def strategy_values(strategy: Strategy) -> Values:
    return {
        "strategy_id": strategy.strategy_id,
        "account_id": strategy.account_id,
        "name": strategy.name,
        "is_default": strategy.is_default,
        "created_at": strategy.created_at,
        "archived_at": strategy.archived_at,
        "deleted_at": strategy.deleted_at,
    }


def strategy_from_row(row: RowMapping) -> Strategy:
    return Strategy(
        strategy_id=StrategyId(row["strategy_id"]),
        account_id=AccountId(row["account_id"]),
        name=row["name"],
        is_default=row["is_default"],
        created_at=row["created_at"],
        archived_at=row["archived_at"],
        deleted_at=row["deleted_at"],
        control_mode=_optional_mode(row["control_mode"]),
    )


def _optional_mode(value: str | None) -> ControlMode | None:
    return ControlMode(value) if value is not None else None


def portfolio_values(portfolio: Portfolio) -> Values:
    """Return the columns of a portfolio row (its strategies are rows of their own)."""
    return {
        "portfolio_id": portfolio.portfolio_id,
        "name": portfolio.name,
        "owner_id": portfolio.owner_id,
        "default_for": portfolio.default_for,
        "created_at": portfolio.created_at,
        "archived_at": portfolio.archived_at,
    }


def portfolio_from_row(row: RowMapping, strategy_ids: frozenset[StrategyId]) -> Portfolio:
    owner, default_for = row["owner_id"], row["default_for"]
    return Portfolio(
        portfolio_id=PortfolioId(row["portfolio_id"]),
        name=row["name"],
        owner_id=UserId(owner) if owner is not None else None,
        created_at=row["created_at"],
        default_for=AccountId(default_for) if default_for is not None else None,
        archived_at=row["archived_at"],
        strategy_ids=strategy_ids,
    )


def roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


def principal_from_row(row: RowMapping, account_ids: frozenset[AccountId]) -> Principal:
    return Principal(UserId(row["user_id"]), row["name"], _roles(row), account_ids)


def user_info_from_row(row: RowMapping) -> UserInfo:
    return UserInfo(UserId(row["user_id"]), row["name"], _roles(row), row["created_at"])


def _roles(row: RowMapping) -> frozenset[Role]:
    return frozenset(Role(role) for role in row["roles"].split(",") if role)
