"""Turn the SDK's positions, holdings and quotes into reports, refusing what no book can hold.

Every number goes through ``finite_decimal``: NaN, infinities and booleans are refused, so a
broken reply is ``DataFormatError``, never a zero or a float in our books.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from order_service.adapters.broker.parsing import finite_decimal, whole
from order_service.domain.reports import HoldingReport, PositionReport, QuoteReport
from order_service.errors import DataFormatError

T = TypeVar("T")
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, InvalidOperation)


def position_reports(data: object) -> list[PositionReport]:
    """Parse ``positions()`` (``{"net": [...], "day": [...]}``): the net rows."""
    if not isinstance(data, dict):
        raise DataFormatError("the broker sent positions that are not an object")
    return _rows("positions", data.get("net"), _position)


def holding_reports(rows: object) -> list[HoldingReport]:
    """Parse ``holdings()``: a list of holdings."""
    return _rows("holdings", rows, _holding)


def quote_reports(data: object) -> dict[str, QuoteReport]:
    """Parse ``quote()`` or ``ohlc()`` (``{"NSE:INFY": {"last_price", "ohlc": {"close"},
    "lower_circuit_limit", "upper_circuit_limit"}}``) by instrument."""
    if not isinstance(data, dict):
        raise DataFormatError("the broker sent quotes that are not an object")
    try:
        return {key: _quote(key, body) for key, body in data.items()}
    except _MALFORMED as exc:
        raise DataFormatError(
            "the broker sent a quote we cannot parse", details={"reason": repr(exc)}
        ) from exc


def _rows(what: str, rows: object, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    if not isinstance(rows, list):
        raise DataFormatError(f"the broker sent {what} that are not a list")
    try:
        return [parse(row) for row in rows]
    except _MALFORMED as exc:
        raise DataFormatError(
            f"the broker sent {what} we cannot parse", details={"reason": repr(exc)}
        ) from exc


def _position(row: dict[str, Any]) -> PositionReport:
    return PositionReport(
        exchange=_name(row["exchange"]),
        tradingsymbol=_name(row["tradingsymbol"]),
        product=_name(row["product"]),
        quantity=_signed(row["quantity"]),
        overnight_quantity=_signed(row.get("overnight_quantity", 0)),
        average_price=finite_decimal(row["average_price"]),
        last_price=finite_decimal(row["last_price"]),
        close_price=finite_decimal(row.get("close_price", 0)),
        pnl=finite_decimal(row["pnl"]),
        realised=finite_decimal(row["realised"]),
        unrealised=finite_decimal(row["unrealised"]),
    )


def _holding(row: dict[str, Any]) -> HoldingReport:
    isin = row.get("isin")
    holding = HoldingReport(
        exchange=_name(row["exchange"]),
        tradingsymbol=_name(row["tradingsymbol"]),
        isin=str(isin) if isin else None,
        quantity=whole(row["quantity"]),
        t1_quantity=whole(row.get("t1_quantity", 0)),
        average_price=finite_decimal(row["average_price"]),
        last_price=finite_decimal(row["last_price"]),
        close_price=finite_decimal(row.get("close_price", 0)),
        pnl=finite_decimal(row["pnl"]),
    )
    quantities = (holding.quantity, holding.t1_quantity)
    if min(quantities) < 0 or min(holding.average_price, holding.last_price) < 0:
        raise ValueError(f"a negative quantity or price in the holding of {holding.tradingsymbol}")
    return holding


def _quote(key: str, body: dict[str, Any]) -> QuoteReport:
    exchange, _, tradingsymbol = key.partition(":")
    if not exchange or not tradingsymbol:
        raise ValueError(f"not an instrument: {key!r}")
    last = finite_decimal(body["last_price"])
    ohlc = body.get("ohlc", {})
    close = finite_decimal(ohlc.get("close", last))
    opened, high, low = (_price(ohlc.get(name)) for name in ("open", "high", "low"))
    if last < 0 or close < 0 or any(p is not None and p < 0 for p in (opened, high, low)):
        raise ValueError(f"a negative price for {key!r}")
    lower = _circuit(body.get("lower_circuit_limit"))
    upper = _circuit(body.get("upper_circuit_limit"))
    if lower is None or upper is None or lower > upper:
        lower = upper = None  # no band given (Kite sends 0 for instruments without one)
    volume = body.get("volume")
    traded = whole(volume) if volume is not None else None
    if traded is not None and traded < 0:
        raise ValueError(f"a negative volume for {key!r}")
    return QuoteReport(
        exchange, tradingsymbol, last, close, lower, upper, opened, high, low, traded
    )


def _price(value: object) -> Decimal | None:
    return finite_decimal(value) if value is not None else None


def _circuit(value: object) -> Decimal | None:
    """A circuit limit of ``quote()``: absent from ``ohlc()``, 0 where there is no band."""
    if value is None:
        return None
    limit = finite_decimal(value)
    return limit if limit > 0 else None


def _signed(value: object) -> int:
    """A position quantity: whole, negative when short."""
    number = finite_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"not a whole quantity: {value!r}")
    return int(number)


def _name(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise TypeError(f"not a name: {value!r}")
    return value
