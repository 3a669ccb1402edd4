"""Kite's input checks for placing and modifying orders; failures are InputError (HTTP 400)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import InputError, invalid
from .instruments import Catalogue, Instrument
from .kite_enums import (
    DELIVERY_PRODUCTS,
    MARKET_TYPES,
    PRICED_TYPES,
    STOP_TYPES,
    ExchangeCode,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)

VARIETIES = frozenset(Variety)
EXCHANGES = frozenset(ExchangeCode) - {ExchangeCode.MF}
TRANSACTION_TYPES = frozenset(TransactionType)
ORDER_TYPES = frozenset(OrderType)
PRODUCTS = frozenset(Product) - {Product.BO}
VALIDITIES = frozenset(Validity)
MAX_AUTOSLICES = 10
# Far beyond any real order, and small enough for exact Decimal arithmetic (28 digits).
MAX_QUANTITY = 10**8
MAX_PRICE = Decimal(10**9)
TAG_PATTERN = re.compile(r"[A-Za-z0-9]{1,20}")
TAG_MESSAGE = "`tag` should be max 8 characters"
PROTECTION_MESSAGE = (
    "Market orders without market protection are not allowed via API. "
    "Please set market protection or use a limit order."
)

Form = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Terms:
    """The modifiable part of an order, checked as a whole."""

    order_type: str
    quantity: int
    price: Decimal
    trigger_price: Decimal
    validity: str
    disclosed_quantity: int
    market_protection: Decimal
    validity_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    variety: str
    instrument: Instrument
    transaction_type: str
    product: str
    terms: Terms
    tag: str | None = None
    autoslice: bool = False
    iceberg_legs: int | None = None
    iceberg_quantity: int | None = None
    auction_number: str | None = None


def parse_variety(raw: str) -> str:
    variety = raw.lower()
    if variety not in VARIETIES:
        raise invalid("variety")
    return variety


def parse_place(form: Form, variety: str, catalogue: Catalogue) -> PlaceRequest:
    """Validate a place-order form the way Kite's API layer does."""
    instrument = _instrument(form, catalogue)
    transaction_type = _choice(form, "transaction_type", TRANSACTION_TYPES)
    terms = _terms(form)
    request = PlaceRequest(
        variety=variety,
        instrument=instrument,
        transaction_type=transaction_type,
        product=_product(form, instrument, variety),
        terms=terms,
        tag=_tag(form),
        autoslice=form.get("autoslice", "").lower() == "true",
        iceberg_legs=_optional_int(form, "iceberg_legs"),
        iceberg_quantity=_optional_int(form, "iceberg_quantity"),
        auction_number=form.get("auction_number") or None,
    )
    check_terms(instrument, transaction_type, terms, autoslice=request.autoslice)
    _check_variety(request)
    return request


def parse_modify(form: Form, current: Terms) -> Terms:
    """New terms of a modified order: sent fields replace the current ones."""
    changes: dict[str, Any] = {}
    if "order_type" in form:
        changes["order_type"] = _choice(form, "order_type", ORDER_TYPES)
    for name in ("quantity", "disclosed_quantity"):
        if name in form:
            changes[name] = _int(form, name, minimum=0 if name == "disclosed_quantity" else 1)
    for name in ("price", "trigger_price", "market_protection"):
        if name in form:
            changes[name] = _decimal(form, name, allow_negative=name == "market_protection")
    if "validity" in form:
        changes["validity"] = _choice(form, "validity", VALIDITIES)
    terms = replace(current, **changes)
    if terms.order_type not in PRICED_TYPES:
        terms = replace(terms, price=Decimal(0))
    return terms


def check_terms(
    instrument: Instrument, side: str, terms: Terms, *, autoslice: bool = False
) -> None:
    """Cross-field rules shared by place and modify."""
    _check_prices(instrument, side, terms)
    _check_quantity(instrument, terms, autoslice)
    _check_protection(terms)
    if terms.validity == Validity.TTL and not terms.validity_ttl:
        raise invalid("validity_ttl")


def _instrument(form: Form, catalogue: Catalogue) -> Instrument:
    exchange = _choice(form, "exchange", EXCHANGES)
    instrument = catalogue.find(exchange, _required(form, "tradingsymbol"))
    if instrument is None or not instrument.is_tradable:
        raise invalid("tradingsymbol")
    return instrument


def _terms(form: Form) -> Terms:
    order_type = _choice(form, "order_type", ORDER_TYPES)
    validity = _choice(form, "validity", VALIDITIES, default=Validity.DAY)
    return Terms(
        order_type=order_type,
        quantity=_int(form, "quantity", minimum=1),
        price=_decimal(form, "price") if order_type in PRICED_TYPES else Decimal(0),
        trigger_price=_decimal(form, "trigger_price"),
        validity=validity,
        disclosed_quantity=_optional_int(form, "disclosed_quantity") or 0,
        market_protection=_decimal(form, "market_protection", allow_negative=True),
        validity_ttl=_optional_int(form, "validity_ttl") if validity == Validity.TTL else None,
    )


def _product(form: Form, instrument: Instrument, variety: str) -> str:
    product = _choice(form, "product", PRODUCTS)
    if variety == Variety.CO:
        return Product.CO
    equity_only = product in DELIVERY_PRODUCTS
    if product == Product.CO or (equity_only != instrument.is_equity and product != Product.MIS):
        raise invalid("product")
    return product


def _tag(form: Form) -> str | None:
    tag = form.get("tag")
    if not tag:
        return None
    if TAG_PATTERN.fullmatch(tag) is None:
        raise InputError(TAG_MESSAGE)
    return tag


def _check_prices(instrument: Instrument, side: str, terms: Terms) -> None:
    if terms.order_type in PRICED_TYPES and terms.price <= 0:
        raise invalid("price")
    if terms.order_type in STOP_TYPES and terms.trigger_price <= 0:
        raise invalid("trigger_price")
    for name, value in (("price", terms.price), ("trigger price", terms.trigger_price)):
        if value % instrument.tick_size:
            raise InputError(
                f"Tick size for this script is {instrument.tick_size}. "
                f"Kindly enter {name} in the multiple of tick size for this script"
            )
    if terms.order_type == OrderType.SL:
        _check_stop_limit(side, terms)


def _check_stop_limit(side: str, terms: Terms) -> None:
    if side == TransactionType.BUY and terms.trigger_price > terms.price:
        raise InputError("Trigger price for stoploss buy orders should be lower than the price.")
    if side == TransactionType.SELL and terms.trigger_price < terms.price:
        raise InputError("Trigger price for stoploss sell orders should be higher than the price.")


def _check_quantity(instrument: Instrument, terms: Terms, autoslice: bool) -> None:
    lot = instrument.lot_size
    if terms.quantity % lot:
        raise InputError(f"Quantity should be a multiple of the lot size ({lot}).")
    if terms.disclosed_quantity > terms.quantity:
        raise invalid("disclosed_quantity")
    freeze = instrument.freeze_quantity
    if freeze and terms.quantity > freeze * (MAX_AUTOSLICES if autoslice else 1):
        raise InputError(
            f"Quantity exceeds the freeze limit of {freeze}. "
            "Use autoslice or split the order (at most 10 slices)."
        )


def _check_protection(terms: Terms) -> None:
    protection = terms.market_protection
    if protection != -1 and not 0 <= protection <= 100:
        raise invalid("market_protection")
    if terms.order_type in MARKET_TYPES and protection == 0:
        raise InputError(PROTECTION_MESSAGE)


def _check_variety(request: PlaceRequest) -> None:
    terms = request.terms
    if request.variety == Variety.CO:
        if terms.order_type not in {OrderType.MARKET, OrderType.LIMIT} or terms.trigger_price <= 0:
            raise invalid("trigger_price")
    elif request.variety == Variety.ICEBERG:
        _check_iceberg(request)
    elif request.variety == Variety.AUCTION and not request.auction_number:
        raise invalid("auction_number")


def _check_iceberg(request: PlaceRequest) -> None:
    legs, leg_quantity = request.iceberg_legs, request.iceberg_quantity
    if legs is None or not 2 <= legs <= 50:
        raise invalid("iceberg_legs")
    quantity = request.terms.quantity
    if not leg_quantity or leg_quantity * legs < quantity or leg_quantity >= quantity:
        raise invalid("iceberg_quantity")


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if not value:
        raise invalid(name)
    return value


def _choice(form: Form, name: str, allowed: frozenset[str], default: str | None = None) -> str:
    value = form.get(name) or default
    if value is None or value not in allowed:
        raise invalid(name)
    return value


def _int(form: Form, name: str, minimum: int) -> int:
    raw = _required(form, name) if minimum > 0 else form.get(name, "0")
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(name) from exc
    if not minimum <= value <= MAX_QUANTITY:
        raise invalid(name)
    return value


def _optional_int(form: Form, name: str) -> int | None:
    return _int(form, name, minimum=0) if form.get(name) else None


def _decimal(form: Form, name: str, *, allow_negative: bool = False) -> Decimal:
    raw = form.get(name) or "0"
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise invalid(name) from exc
    if not value.is_finite() or abs(value) >= MAX_PRICE or (value < 0 and not allow_negative):
        raise invalid(name)
    return value
