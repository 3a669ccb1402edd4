"""Alerts from charting tools, read into what each asks for (one order per symbol).

Two body shapes are read (README, "Alerts from charting tools"):

- the plain one, for TradingView, Amibroker or anything that can post JSON:
  ``{"action": "buy", "ticker": "INFY", "quantity": 1, "price": "1520.5", "id": "…"}``;
  every field optional where the token's template fixes it (``symbol`` and ``qty`` are
  accepted too, and an ``NSE:`` style prefix on the ticker is dropped);
- ChartInk's: ``{"stocks": "A,B", "trigger_prices": "1.5,2.5", "alert_name", "scan_name",
  "triggered_at"}``, one order per stock, the side and quantity from the template.

An alert's own ``id`` is its identity; without one (ChartInk never sends one), the identity is
a hash of the fields that tell one alert from another, so the same alert posted twice is the
same alert. Other fields are ignored: the account and strategy are always the token's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from order_service.domain.values import TransactionType
from order_service.errors import ValidationError

CHARTINK = "chartink"
PLAIN = "alert"
MAX_STOCKS = 50  # one ChartInk scan result at most places this many orders
MAX_QUANTITY = 10_000_000
_PLAIN_NUMBER = re.compile(r"[0-9]{1,18}(\.[0-9]{1,18})?")
_SYMBOL = re.compile(r"^[A-Z0-9&_\-]{1,40}$")
_ALERT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
_ACTIONS = {"buy": TransactionType.BUY, "sell": TransactionType.SELL}
# The fields that identify a plain alert without an id (TradingView's {{timenow}} as "time").
_PLAIN_IDENTITY = ("action", "ticker", "symbol", "quantity", "qty", "price", "time", "timenow")
_CHARTINK_IDENTITY = ("stocks", "trigger_prices", "alert_name", "scan_name", "triggered_at")


@dataclass(frozen=True, slots=True)
class Alert:
    """One order an alert asks for; what it leaves out, the token's template must give."""

    alert_id: str
    action: TransactionType | None = None
    tradingsymbol: str | None = None
    quantity: int | None = None
    price: Decimal | None = None


def read_alerts(body: object) -> tuple[str, list[Alert]]:
    """Return the alert's shape and the orders it asks for, or raise ``ValidationError``."""
    if not isinstance(body, dict):
        raise ValidationError("the alert body must be a JSON object", field="body")
    if "stocks" in body:
        return CHARTINK, _chartink(body)
    return PLAIN, [_plain(body)]


def _plain(body: dict[str, Any]) -> Alert:
    ticker = _first(body, "ticker", "symbol")
    quantity = _first(body, "quantity", "qty")
    return Alert(
        alert_id=_alert_id(body) or _identity(body, _PLAIN_IDENTITY),
        action=_action(body.get("action")),
        tradingsymbol=None if ticker is None else _symbol(ticker, "ticker"),
        quantity=None if quantity is None else _quantity(quantity),
        price=None if body.get("price") is None else _number(body["price"], "price"),
    )


def _chartink(body: dict[str, Any]) -> list[Alert]:
    stocks = _list(body["stocks"], "stocks")
    if not 1 <= len(stocks) <= MAX_STOCKS:
        raise ValidationError(f"stocks must name 1 to {MAX_STOCKS} symbols", field="stocks")
    prices: list[Decimal | None] = [None] * len(stocks)
    if body.get("trigger_prices") not in (None, ""):
        raw = _list(body["trigger_prices"], "trigger_prices")
        if len(raw) != len(stocks):
            raise ValidationError(
                f"trigger_prices has {len(raw)} prices for {len(stocks)} stocks",
                field="trigger_prices",
            )
        prices = [_number(p, "trigger_prices") for p in raw]
    identity = _identity(body, _CHARTINK_IDENTITY)
    return [
        Alert(identity, tradingsymbol=_symbol(stock, "stocks"), price=price)
        for stock, price in zip(stocks, prices, strict=True)
    ]


def _first(body: dict[str, Any], *names: str) -> Any:
    return next((body[n] for n in names if body.get(n) is not None), None)


def _alert_id(body: dict[str, Any]) -> str | None:
    value = _first(body, "id", "alert_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError("the alert's id must be a string", field="id")
    text = str(value)
    if not _ALERT_ID.match(text):
        raise ValidationError("the alert's id must be 1 to 128 printable characters", field="id")
    return "id:" + text


def _identity(body: dict[str, Any], names: tuple[str, ...]) -> str:
    """A hash of the identifying fields: the same alert posted twice gets the same one."""
    fields = {n: body[n] for n in names if body.get(n) is not None}
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return "hash:" + hashlib.sha256(encoded.encode()).hexdigest()


def _action(value: Any) -> TransactionType | None:
    if value is None:
        return None
    side = _ACTIONS.get(value.strip().lower()) if isinstance(value, str) else None
    if side is None:
        raise ValidationError('action must be "buy" or "sell"', field="action")
    return side


def _symbol(value: Any, field: str) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    text = text.rpartition(":")[2]  # "NSE:INFY" (TradingView's tickerid) → "INFY"
    if not _SYMBOL.match(text):
        raise ValidationError(f"{value!r} is not a tradingsymbol", field=field)
    return text


def _list(value: Any, field: str) -> list[str]:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a comma-separated string", field=field)
    return [item.strip() for item in value.split(",") if item.strip()]


def _number(value: Any, field: str) -> Decimal:
    """A finite number from JSON (a number or a numeric string); NaN and Infinity refused.

    Only plain decimals are read (digits, one point, no exponent): ``1e999999`` is a finite
    Decimal nobody meant as a price.
    """
    text = value.strip() if isinstance(value, str) else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    if not isinstance(text, str) or not _PLAIN_NUMBER.fullmatch(text):
        raise ValidationError(
            f"{field} must be a finite decimal number (digits and one point)", field=field
        )
    number = Decimal(text)
    if number <= 0:
        raise ValidationError(f"{field} must be above zero", field=field)
    return number


def _quantity(value: Any) -> int:
    number = _number(value, "quantity")
    if number != number.to_integral_value() or number > MAX_QUANTITY:
        raise ValidationError(
            f"quantity must be a whole number up to {MAX_QUANTITY}", field="quantity"
        )
    return int(number)
