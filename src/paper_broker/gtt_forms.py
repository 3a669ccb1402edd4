"""Reading a GTT form: `type`, plus `condition` and `orders` as JSON strings, checked like Kite."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from .errors import InputError, invalid
from .gtt_records import GttOrder, Trigger
from .instruments import Catalogue, Instrument
from .kite_enums import OrderType, Product
from .prices import PriceWalk
from .validation import EXCHANGES, MAX_PRICE, TRANSACTION_TYPES, Form

TYPES = {"single": 1, "two-leg": 2}
ORDER_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET})
PRODUCTS = frozenset({Product.CNC, Product.MIS, Product.NRML})


def parse_trigger(
    form: Form, catalogue: Catalogue, walk_of: Any, owner: tuple[str, int, int], now: datetime
) -> Trigger:
    """A trigger from a form; `owner` is (user id, trigger id, app id), `walk_of` reads prices."""
    kind = form.get("type", "")
    if kind not in TYPES:
        raise invalid("type")
    condition = _json(form, "condition", dict)
    instrument = _instrument(condition, catalogue)
    values = [_price(value, instrument, "trigger_values") for value in _list(condition)]
    if len(values) != TYPES[kind]:
        raise invalid("trigger_values")
    orders = [_order(item, instrument) for item in _json(form, "orders", list)]
    if len(orders) != TYPES[kind]:
        raise InputError(f"A {kind} trigger takes {TYPES[kind]} order(s).")
    walk: PriceWalk = walk_of(instrument)
    user_id, trigger_id, app_id = owner
    return Trigger(
        trigger_id=trigger_id,
        user_id=user_id,
        kind=kind,
        instrument=instrument,
        trigger_values=values,
        last_price=_decimal(condition.get("last_price", walk.price), "last_price"),
        orders=orders,
        created_at=now,
        updated_at=now,
        rising=_rising(kind, values, walk.price),
        app_id=app_id,
    )


def _rising(kind: str, values: list[Decimal], price: Decimal) -> bool:
    """Check the values against the market; a single trigger fires towards its value."""
    if kind == "two-leg":
        if not values[0] < price < values[1]:
            raise InputError(
                "Trigger values of a two-leg GTT must lie below and above the last price."
            )
        return False
    if values[0] == price:
        raise InputError("Trigger value cannot be the same as the last price.")
    return values[0] > price


def _json(form: Form, name: str, kind: type) -> Any:
    try:
        value = orjson.loads(form.get(name) or "null")
    except orjson.JSONDecodeError as exc:
        raise invalid(name) from exc
    if not isinstance(value, kind):
        raise invalid(name)
    return value


def _list(condition: dict[str, Any]) -> list[Any]:
    values = condition.get("trigger_values")
    if not isinstance(values, list):
        raise invalid("trigger_values")
    return values


def _instrument(item: dict[str, Any], catalogue: Catalogue) -> Instrument:
    exchange = item.get("exchange")
    if not isinstance(exchange, str) or exchange not in EXCHANGES:  # a list is unhashable
        raise invalid("exchange")
    instrument = catalogue.find(str(exchange), str(item.get("tradingsymbol", "")))
    if instrument is None or not instrument.is_tradable:
        raise invalid("tradingsymbol")
    return instrument


def _order(item: Any, instrument: Instrument) -> GttOrder:
    if not isinstance(item, dict):
        raise invalid("orders")
    if (item.get("exchange"), item.get("tradingsymbol")) != (
        instrument.exchange,
        instrument.tradingsymbol,
    ):
        raise InputError("GTT orders must be for the instrument of the condition.")
    order = GttOrder(
        transaction_type=_pick(item, "transaction_type", TRANSACTION_TYPES),
        quantity=_quantity(item, instrument),
        order_type=_pick(item, "order_type", ORDER_TYPES),
        product=_pick(item, "product", PRODUCTS),
        price=_price(item.get("price"), instrument, "price"),
    )
    if (order.product == Product.CNC) != instrument.is_equity:
        raise invalid("product")
    return order


def _pick(item: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = item.get(name)
    if value not in allowed:
        raise invalid(name)
    return str(value)


def _quantity(item: dict[str, Any], instrument: Instrument) -> int:
    value = item.get("quantity")
    lot = instrument.lot_size or 1
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % lot:
        raise invalid("quantity")
    return value


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise invalid(name) from exc
    if isinstance(value, bool) or not number.is_finite() or not 0 < number < MAX_PRICE:
        raise invalid(name)
    return number


def _price(value: Any, instrument: Instrument, name: str) -> Decimal:
    """A positive price on the tick (floats like 702.5 arrive as JSON numbers)."""
    price = _decimal(value, name).quantize(Decimal("0.01"))
    if price % instrument.tick_size:
        raise InputError(
            f"Tick size for this script is {instrument.tick_size}. "
            f"Kindly enter {name.replace('_', ' ')} in the multiple of tick size for this script"
        )
    return price
