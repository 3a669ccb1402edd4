"""JSON in and out: money as Decimal both ways, never float; NaN and Infinity refused."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

# The fields that carry money or prices (the service sends them as exact text).
MONEY_FIELDS = frozenset(
    {
        "available", "average_price", "buy_m2m", "buy_price", "buy_value", "charges",
        "close_price", "day_buy_price", "day_buy_value", "day_sell_price", "day_sell_value",
        "gross", "last_price", "m2m", "market_protection", "max_order_value", "net", "pnl",
        "price", "realised", "sell_m2m", "sell_price", "sell_value", "total_charges",
        "trigger_price", "unrealised", "utilised", "value", "limit", "required",
        "brokerage", "stt", "exchange_transaction", "sebi_fee", "stamp_duty", "gst", "dp",
        "span", "exposure", "option_premium", "additional", "bo", "cash", "var", "leverage",
        "pnl_realised", "pnl_unrealised", "transaction_tax", "exchange_turnover_charge",
        "sebi_turnover_charge", "igst", "cgst", "sgst", "total", "hedge_benefit",
        "tick_size", "strike", "lower_circuit", "upper_circuit",
    }
)  # fmt: skip


class NotANumber(ValueError):
    """A number that is not finite (NaN, Infinity) or not a number at all."""


def to_decimal(value: object) -> Decimal:
    """Return ``value`` as a finite Decimal: an int, a Decimal or decimal text; never a float."""
    if isinstance(value, bool | float):
        raise TypeError(f"money is Decimal, int or text, never {type(value).__name__}")
    if not isinstance(value, int | str | Decimal):
        raise TypeError(f"not a number: {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise NotANumber(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise NotANumber(f"not a finite number: {value!r}")
    return number


def _refuse_constant(name: str) -> Any:
    raise NotANumber(f"not a finite number: {name}")


def _finite(text: str) -> Decimal:
    return to_decimal(text)


def loads(text: str | bytes) -> Any:
    """Parse JSON with every fractional number as Decimal and money text as Decimal."""
    return _money(json.loads(text, parse_float=_finite, parse_constant=_refuse_constant))


def _money(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _money(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_money(item, key) for item in value]
    if key in MONEY_FIELDS and isinstance(value, str):
        return _money_text(value)
    return value


def _money_text(text: str) -> Decimal | str:
    """Money text as Decimal; text that is no number at all (a rule's name) stays text."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        raise NotANumber(f"not a finite number: {text!r}")
    return number


def outgoing(value: Any, key: str | None = None) -> Any:
    """Make a request body JSON-safe: money as exact finite text, floats refused."""
    if isinstance(value, dict):
        return {str(k): outgoing(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [outgoing(item, key) for item in value]
    if isinstance(value, float):
        raise TypeError("money is Decimal, int or text, never float")
    if isinstance(value, Decimal) or (key in MONEY_FIELDS and isinstance(value, str)):
        return str(to_decimal(value))
    return value
