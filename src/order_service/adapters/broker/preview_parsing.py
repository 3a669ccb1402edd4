"""Kite's preview calls on the wire: the orders as the JSON objects its margin calculators and
virtual contract note take, and their answers as exact values.

Every amount of an answer goes through ``finite_decimal``: a missing amount, NaN, an infinity
or a boolean is ``DataFormatError``, never a zero or a float. Only what real Kite is seen to
vary is tolerated: its ``/margins/orders`` fixture spells the tax ``transaction_charge`` (and
its type ``transaction_charge_type``), its basket's ``initial``/``final`` carry an empty type,
symbol and tax type, and its basket answer may come without the top-level ``charges`` (None
here, as is a margin object without one).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from order_service.adapters.broker.parsing import finite_decimal, whole
from order_service.domain.order import OrderRequest
from order_service.domain.previews import (
    BasketMargins,
    ChargeBreakdown,
    ContractNoteLine,
    Gst,
    Margin,
    PricedOrder,
)
from order_service.errors import DataFormatError

T = TypeVar("T")
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, InvalidOperation)
_ZERO = Decimal(0)


def margin_order(request: OrderRequest) -> dict[str, Any]:
    """Return the order as the calculators' JSON object (no price or trigger is 0 to Kite)."""
    return {
        "exchange": request.exchange.value,
        "tradingsymbol": request.tradingsymbol,
        "transaction_type": request.transaction_type.value,
        "variety": request.variety.value,
        "product": request.product.value,
        "order_type": request.order_type.value,
        "quantity": request.quantity,
        "price": json_number(request.price or _ZERO),
        "trigger_price": json_number(request.trigger_price or _ZERO),
    }


def priced_order(order: PricedOrder, number: int) -> dict[str, Any]:
    """Return the order as the contract note's JSON object, named ``preview-<number>``."""
    # Kite's contract note asks for each order's id, and these orders were never placed: a
    # placeholder stands in (the answer's lines come in the orders' order, without ids).
    body = margin_order(order.request)
    body["order_id"] = f"preview-{number}"
    body["average_price"] = json_number(order.average_price)
    return body


def json_number(value: Decimal) -> int | float:
    """Return a price as the JSON number the SDK's encoder can write (it knows no Decimal).

    Prices are tick multiples, a few significant digits: the shortest repr of their float, which
    ``json`` writes, reads back as the same decimal, so the broker sees the exact price.
    """
    whole_part = value.to_integral_value()
    if value == whole_part:
        return int(whole_part)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} has no exact JSON number")  # no price of a valid order
    return number


def margin_list(data: object) -> list[Margin]:
    """Parse ``order_margins()``: one margin object per order, in the orders' order."""
    return _parsed("order margins", lambda: [_margin(row) for row in _list(data)])


def basket_margins(data: object) -> BasketMargins:
    """Parse ``basket_order_margins()`` (``{initial, final, orders: [...], charges}``)."""
    return _parsed("basket margins", lambda: _basket(_object(data)))


def contract_note_lines(data: object) -> list[ContractNoteLine]:
    """Parse ``get_virtual_contract_note()``: one priced line per order, in the orders' order."""
    return _parsed("a contract note", lambda: [_line(row) for row in _list(data)])


def _parsed(what: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except _MALFORMED as exc:
        raise DataFormatError(
            f"the broker sent {what} we cannot parse", details={"reason": repr(exc)}
        ) from exc


def _basket(body: dict[str, Any]) -> BasketMargins:
    charges = body.get("charges")
    return BasketMargins(
        initial=_margin(body["initial"]),
        final=_margin(body["final"]),
        orders=tuple(_margin(row) for row in _list(body["orders"])),
        charges=None if charges is None else _charges(charges),
    )


def _margin(row: object) -> Margin:
    body = _object(row)
    pnl = _object(body["pnl"])
    charges = body.get("charges")
    return Margin(
        type=_text(body["type"]),
        exchange=_text(body["exchange"]),
        tradingsymbol=_text(body["tradingsymbol"]),
        span=finite_decimal(body["span"]),
        exposure=finite_decimal(body["exposure"]),
        option_premium=finite_decimal(body["option_premium"]),
        additional=finite_decimal(body["additional"]),
        bo=finite_decimal(body["bo"]),
        cash=finite_decimal(body["cash"]),
        var=finite_decimal(body["var"]),
        pnl_realised=finite_decimal(pnl["realised"]),
        pnl_unrealised=finite_decimal(pnl["unrealised"]),
        leverage=finite_decimal(body["leverage"]),
        charges=None if charges is None else _charges(charges),
        total=finite_decimal(body["total"]),
    )


def _charges(value: object) -> ChargeBreakdown:
    body = _object(value)
    gst = _object(body["gst"])
    return ChargeBreakdown(
        transaction_tax=finite_decimal(_either(body, "transaction_tax", "transaction_charge")),
        transaction_tax_type=_text(
            body.get("transaction_tax_type", body.get("transaction_charge_type", ""))
        ),
        exchange_turnover_charge=finite_decimal(body["exchange_turnover_charge"]),
        sebi_turnover_charge=finite_decimal(body["sebi_turnover_charge"]),
        brokerage=finite_decimal(body["brokerage"]),
        stamp_duty=finite_decimal(body["stamp_duty"]),
        gst=Gst(
            igst=finite_decimal(gst["igst"]),
            cgst=finite_decimal(gst["cgst"]),
            sgst=finite_decimal(gst["sgst"]),
            total=finite_decimal(gst["total"]),
        ),
        total=finite_decimal(body["total"]),
    )


def _line(row: object) -> ContractNoteLine:
    body = _object(row)
    quantity = whole(body["quantity"])
    if quantity <= 0:
        raise ValueError(f"not an order quantity: {quantity}")
    return ContractNoteLine(
        exchange=_name(body["exchange"]),
        tradingsymbol=_name(body["tradingsymbol"]),
        transaction_type=_name(body["transaction_type"]),
        variety=_name(body["variety"]),
        product=_name(body["product"]),
        order_type=_name(body["order_type"]),
        quantity=quantity,
        price=finite_decimal(body["price"]),
        charges=_charges(body["charges"]),
    )


def _either(body: dict[str, Any], name: str, older: str) -> Any:
    """The amount under ``name``, or under the spelling Kite's fixture uses; one is required."""
    return body[name] if name in body else body[older]


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"not a list: {type(value).__name__}")
    return value


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"not an object: {type(value).__name__}")
    return value


def _text(value: object) -> str:
    """A label that may be empty (a basket's totals name no instrument)."""
    if not isinstance(value, str):
        raise TypeError(f"not text: {value!r}"[:80])
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise TypeError(f"not a name: {value!r}"[:80])
    return value
