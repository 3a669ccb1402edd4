"""Factories for test data, shared by every tier: valid by default, any field overridable.

``make_request`` builds a new request and validates it, as the API does; ``make_stored_request``
uses the plain constructor, as a row read back is rebuilt, so a test can hold terms that
today's rules refuse. Orders and accounts are plain constructors: the domain has no other way.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from order_service.domain.account import Account, SessionState, access_token_expiry
from order_service.domain.fill import Fill, FillSource
from order_service.domain.ids import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    OrderId,
    StrategyId,
    UserId,
    new_order_id,
    tag_for,
)
from order_service.domain.order import Order, OrderRequest
from order_service.domain.position import IST
from order_service.domain.reports import FillReport, OrderStatusReport, TradeId
from order_service.domain.values import Exchange, OrderType, Product, TransactionType

ACCOUNT = AccountId("PAPER1")
OTHER_ACCOUNT = AccountId("PAPER2")
TRADER = UserId("01JTRADER00000000000000000")
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:30 IST, the FakeClock's start
LIMIT_PRICE = Decimal("1520.50")
BROKER_ORDER_ID = BrokerOrderId("0000000000001")

# Order and OrderRequest both have these: a bare name sets the Order's, request_<name> the
# request's.
_SHARED_FIELDS = frozenset({"tag", "strategy_id"})
_REQUEST_FIELDS = frozenset(field.name for field in fields(OrderRequest)) - _SHARED_FIELDS


def default_strategy_id(account_id: AccountId) -> StrategyId:
    """Return the id ``make_order`` gives an account's orders unless told otherwise."""
    return StrategyId(f"{account_id}-default")


def request_terms(**overrides: Any) -> dict[str, Any]:
    """Return the terms of a MARKET BUY of 10 INFY on NSE (CNC) for PAPER1, overridden."""
    terms: dict[str, Any] = {
        "account_id": ACCOUNT,
        "exchange": Exchange.NSE,
        "tradingsymbol": "INFY",
        "transaction_type": TransactionType.BUY,
        "quantity": 10,
        "product": Product.CNC,
        "order_type": OrderType.MARKET,
    }
    return {**terms, **overrides}


def market_order_body(account_id: str = ACCOUNT) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/orders`` for one INFY share at market."""
    return {
        "account_id": account_id,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 1,
        "product": "CNC",
        "order_type": "MARKET",
    }


def make_request(**overrides: Any) -> OrderRequest:
    """Return a new, validated request: a MARKET BUY of 10 INFY unless told otherwise."""
    return OrderRequest.create(**request_terms(**overrides))


def make_stored_request(**overrides: Any) -> OrderRequest:
    """Return a request as a stored row is rebuilt: the same terms, not validated."""
    return OrderRequest(**request_terms(**overrides))


def make_limit_request(**overrides: Any) -> OrderRequest:
    """Return a valid LIMIT BUY at 1520.50; rests OPEN at the FakeBroker."""
    return make_request(**{"order_type": OrderType.LIMIT, "price": LIMIT_PRICE, **overrides})


def make_order(**overrides: Any) -> Order:
    """Return a NEW order; pass ``request=`` or any request field by name, and any Order field.

    The strategy defaults to the account's ``default_strategy_id``, so an order for another
    account stays consistent with a seeded database.
    """
    request = overrides.pop("request", None)
    terms = _pop_request_terms(overrides)
    if request is None:
        request = make_request(**terms)
    else:
        assert not terms, f"pass request= or request fields, not both: {sorted(terms)}"
    order_id = overrides.get("order_id") or new_order_id()
    values: dict[str, Any] = {
        "order_id": order_id,
        "client_order_id": ClientOrderId(f"client-{order_id}"),
        "request": request,
        "request_fingerprint": request.fingerprint(),
        "tag": tag_for(order_id),
        "strategy_id": default_strategy_id(request.account_id),
        "user_id": TRADER,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Order(**{**values, **overrides})


def _pop_request_terms(overrides: dict[str, Any]) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    for name in list(overrides):
        if name in _REQUEST_FIELDS:
            terms[name] = overrides.pop(name)
        elif name.startswith("request_") and name.removeprefix("request_") in _SHARED_FIELDS:
            terms[name.removeprefix("request_")] = overrides.pop(name)
    return terms


def make_report(raw_status: str = "OPEN", **overrides: Any) -> OrderStatusReport:
    """Return a broker snapshot of a 10-share order in ``raw_status``."""
    values: dict[str, Any] = {
        "broker_order_id": BROKER_ORDER_ID,
        "raw_status": raw_status,
        "quantity": 10,
        "price": LIMIT_PRICE,
    }
    return OrderStatusReport(**{**values, **overrides})


def make_account(**overrides: Any) -> Account:
    """Return a new account for PAPER1 that has never logged in."""
    values: dict[str, Any] = {
        "account_id": ACCOUNT,
        "api_key": "key",
        "api_secret": "secret",
        "created_at": NOW,
    }
    return Account(**{**values, **overrides})


def make_active_account(**overrides: Any) -> Account:
    """Return an account with a live session, its token valid until the next 06:00 IST."""
    created_at = overrides.get("created_at", NOW)
    values: dict[str, Any] = {
        "api_key": "kite-api-key",
        "api_secret": "kite-api-secret-value",
        "access_token": "kite-access-token-value",
        "token_expires_at": access_token_expiry(created_at).astimezone(UTC),
        "session_state": SessionState.ACTIVE,
        "name": "Main account",
    }
    return make_account(**{**values, **overrides})


_trade_ids = itertools.count(1)


def ist_at(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant of ``day`` in IST (the books date fills by their IST day)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


def make_fill(
    side: str,
    quantity: int,
    price: str | Decimal,
    when: datetime,
    *,
    symbol: str = "INFY",
    product: str = "MIS",
    strategy: str = "alpha",
) -> Fill:
    """A fill of account ``acct`` with a fresh trade id; NIFTY symbols trade on NFO."""
    exchange = "NFO" if symbol.startswith("NIFTY") else "NSE"
    report = FillReport(
        TradeId(f"T{next(_trade_ids)}"), BrokerOrderId("B1"), exchange, symbol, product,
        TransactionType(side), quantity, Decimal(price), when,
    )  # fmt: skip
    return Fill(
        AccountId("acct"), OrderId("O1"), StrategyId(strategy), report, FillSource.TRADES, when
    )


def by_account(fill: Fill) -> Hashable:
    """Group fills as an account's positions are: by account and instrument."""
    report = fill.report
    return (fill.account_id, report.exchange, report.tradingsymbol, report.product)


def by_strategy(fill: Fill) -> Hashable:
    """Group fills as a strategy's positions are: by account, strategy and instrument."""
    report = fill.report
    return (
        fill.account_id,
        fill.strategy_id,
        report.exchange,
        report.tradingsymbol,
        report.product,
    )
