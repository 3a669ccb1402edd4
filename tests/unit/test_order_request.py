"""OrderRequest and OrderChanges: validation on construction, fingerprints, defaults."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from decimal import Decimal
from typing import Any

import pytest

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.order import MAX_QUANTITY, OrderChanges
from order_service.domain.values import (
    Exchange,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)
from order_service.errors import ValidationError
from tests.factories import make_limit_request, make_request


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"tradingsymbol": "  "}, "tradingsymbol"),
        ({"order_type": OrderType.LIMIT}, "price"),
        ({"order_type": OrderType.SL, "trigger_price": Decimal(100)}, "price"),
        ({"order_type": OrderType.SL, "price": Decimal(100)}, "trigger_price"),
        ({"order_type": OrderType.SL_M}, "trigger_price"),
        ({"order_type": OrderType.LIMIT, "price": Decimal(0)}, "price"),
        ({"order_type": OrderType.LIMIT, "price": Decimal("-1.5")}, "price"),
        ({"order_type": OrderType.SL_M, "trigger_price": Decimal(0)}, "trigger_price"),
        ({"validity": Validity.TTL}, "validity_ttl"),
        ({"validity": Validity.TTL, "validity_ttl": 0}, "validity_ttl"),
        ({"validity": Validity.DAY, "validity_ttl": 5}, "validity_ttl"),
        ({"market_protection": Decimal(0)}, "market_protection"),
        ({"market_protection": Decimal("100.01")}, "market_protection"),
        ({"market_protection": Decimal(-2)}, "market_protection"),
        ({"disclosed_quantity": -1}, "disclosed_quantity"),
        ({"disclosed_quantity": 11}, "disclosed_quantity"),
    ],
)
def test_an_invalid_request_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_request(**overrides)
    assert caught.value.details["field"] == field
    assert caught.value.error_code == "INVALID_INPUT"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"order_type": OrderType.LIMIT, "price": Decimal("0.05")},
        {"order_type": OrderType.SL, "price": Decimal(101), "trigger_price": Decimal(100)},
        {"order_type": OrderType.SL_M, "trigger_price": Decimal(100)},
        {"validity": Validity.TTL, "validity_ttl": 1},
        {"validity": Validity.IOC},
        {"market_protection": Decimal(-1)},
        {"market_protection": Decimal("0.5")},
        {"market_protection": Decimal(100)},
        {"disclosed_quantity": 0},
        {"disclosed_quantity": 10},
    ],
)
def test_a_valid_request_is_accepted(overrides: dict[str, Any]) -> None:
    request = make_request(**overrides)
    for name, value in overrides.items():
        assert getattr(request, name) == value


def test_equal_requests_have_equal_fingerprints() -> None:
    assert make_limit_request().fingerprint() == make_limit_request().fingerprint()


def test_equal_decimals_written_differently_have_one_fingerprint() -> None:
    a = make_limit_request(price=Decimal("1520.50"))
    b = make_limit_request(price=Decimal("1520.5"))
    assert a.fingerprint() == b.fingerprint()


# One changed value per field of OrderRequest, each still a valid request.
CHANGED_FIELDS: dict[str, dict[str, Any]] = {
    "account_id": {"account_id": AccountId("PAPER2")},
    "exchange": {"exchange": Exchange.BSE},
    "tradingsymbol": {"tradingsymbol": "TCS"},
    "transaction_type": {"transaction_type": TransactionType.SELL},
    "quantity": {"quantity": 11},
    "product": {"product": Product.MIS},
    "order_type": {"order_type": OrderType.SL, "trigger_price": Decimal(1500)},
    "variety": {"variety": Variety.AMO},
    "price": {"price": Decimal("1520.55")},
    "trigger_price": {"trigger_price": Decimal(1500)},
    "validity": {"validity": Validity.IOC},
    "validity_ttl": {"validity": Validity.TTL, "validity_ttl": 5},
    "disclosed_quantity": {"disclosed_quantity": 5},
    "market_protection": {"market_protection": Decimal(2)},
    "tag": {"tag": "mine"},
    "strategy_id": {"strategy_id": StrategyId("S2")},
    "autoslice": {"autoslice": True},
    "auction_number": {"variety": Variety.AUCTION, "auction_number": "22"},
}


def test_a_request_without_the_later_fields_keeps_the_fingerprint_it_had_before_them() -> None:
    request = make_limit_request()
    later = {"autoslice", "auction_number"}
    body = {f.name: getattr(request, f.name) for f in fields(request) if f.name not in later}
    body["price"] = str(Decimal(str(request.price)).normalize())
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert request.fingerprint() == hashlib.sha256(encoded.encode()).hexdigest()


def test_the_fingerprint_table_covers_every_field() -> None:
    assert set(CHANGED_FIELDS) == {f.name for f in fields(make_request())}


@pytest.mark.parametrize("name", sorted(CHANGED_FIELDS))
def test_any_changed_field_changes_the_fingerprint(name: str) -> None:
    changed = make_limit_request(**CHANGED_FIELDS[name])
    assert changed.fingerprint() != make_limit_request().fingerprint()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"order_type": OrderType.MARKET}, Decimal(-1)),
        ({"order_type": OrderType.SL_M, "trigger_price": Decimal(100)}, Decimal(-1)),
        ({"order_type": OrderType.MARKET, "market_protection": Decimal(3)}, Decimal(3)),
        ({"order_type": OrderType.LIMIT, "price": Decimal(100)}, None),
        (
            {"order_type": OrderType.SL, "price": Decimal(101), "trigger_price": Decimal(100)},
            None,
        ),
    ],
)
def test_market_protection_to_send(overrides: dict[str, Any], expected: Decimal | None) -> None:
    assert make_request(**overrides).market_protection_to_send == expected


def test_a_modification_must_change_something() -> None:
    with pytest.raises(ValidationError):
        OrderChanges()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"price": Decimal(0)}, "price"),
        ({"trigger_price": Decimal(-1)}, "trigger_price"),
    ],
)
def test_an_invalid_modification_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OrderChanges(**overrides)
    assert caught.value.details["field"] == field


def test_a_modification_lists_only_the_fields_it_changes() -> None:
    changes = OrderChanges(price=Decimal("1519.95"), validity=Validity.IOC)
    assert changes.as_dict() == {"price": Decimal("1519.95"), "validity": Validity.IOC}


def test_a_quantity_beyond_any_column_is_refused_below_the_api_too() -> None:
    assert make_request(quantity=MAX_QUANTITY).quantity == MAX_QUANTITY
    with pytest.raises(ValidationError) as refused:
        make_request(quantity=MAX_QUANTITY + 1)
    assert refused.value.details["field"] == "quantity"
