"""Turn the SDK's order and trade dictionaries into reports (Kite speaks naive IST)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from order_service.domain.account import IST
from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import MAX_QUANTITY
from order_service.domain.reports import (
    FillReport,
    OrderBook,
    OrderStatusReport,
    SegmentMargins,
    TradeId,
)
from order_service.domain.values import TransactionType
from order_service.errors import DataFormatError

T = TypeVar("T")
_MALFORMED = (KeyError, TypeError, ValueError, InvalidOperation)
_MAX_NAME = 64
_MAX_REASON = 160


@dataclass(frozen=True, slots=True)
class UnreadableRow:
    """A book row we could not parse: what still names it, and why (never the row itself)."""

    reason: str
    order_id: str | None = None
    trade_id: str | None = None
    tag: str | None = None

    def context(self) -> dict[str, str]:
        """Return the row's legible names and the reason, for a log line."""
        names = {"order_id": self.order_id, "trade_id": self.trade_id, "tag": self.tag}
        return {"reason": self.reason} | {k: v for k, v in names.items() if v is not None}


def order_report(row: dict[str, Any]) -> OrderStatusReport:
    """Parse one order (book row or history entry); a malformed row is ``DataFormatError``.

    Malformed includes what no broker order can be: a non-finite or non-positive price, a
    negative quantity, more filled than ordered.
    """
    try:
        return _checked(_order_report(row))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataFormatError(
            "the broker sent an order we cannot parse",
            details={"reason": repr(exc), "order_id": str(row.get("order_id", ""))[:64]},
        ) from exc


def _order_report(row: dict[str, Any]) -> OrderStatusReport:
    return OrderStatusReport(
        broker_order_id=BrokerOrderId(_required_text(row["order_id"])),
        raw_status=_required_text(row["status"]),
        tag=_tag(row.get("tag")),
        exchange_order_id=_text(row.get("exchange_order_id")),
        quantity=whole(row.get("quantity")),
        filled_quantity=whole(row.get("filled_quantity")),
        pending_quantity=whole(row.get("pending_quantity")),
        cancelled_quantity=whole(row.get("cancelled_quantity")),
        disclosed_quantity=_int_or_none(row.get("disclosed_quantity")),
        price=decimal_or_none(row.get("price")),
        trigger_price=decimal_or_none(row.get("trigger_price")),
        average_price=decimal_or_none(row.get("average_price")),
        status_message=_text(row.get("status_message")),
        reported_at=ist_datetime(
            row.get("exchange_update_timestamp") or row.get("order_timestamp")
        ),
        exchange=_text(row.get("exchange")),
        tradingsymbol=_text(row.get("tradingsymbol")),
        transaction_type=_text(row.get("transaction_type")),
        product=_text(row.get("product")),
        order_type=_text(row.get("order_type")),
        variety=_text(row.get("variety")),
        validity=_text(row.get("validity")),
        validity_ttl=_int_or_none(row.get("validity_ttl")) or None,
        placed_at=ist_datetime(row.get("order_timestamp")),
    )


def _checked(report: OrderStatusReport) -> OrderStatusReport:
    quantities = (
        report.quantity,
        report.filled_quantity,
        report.pending_quantity,
        report.cancelled_quantity,
        report.disclosed_quantity or 0,
    )
    if min(quantities) < 0 or max(quantities) > MAX_QUANTITY:
        raise ValueError(f"a quantity outside 0..{MAX_QUANTITY}")
    if report.quantity and report.filled_quantity > report.quantity:
        raise ValueError(f"filled {report.filled_quantity} of {report.quantity}")
    for price in (report.price, report.trigger_price, report.average_price):
        if price is not None and price < 0:
            raise ValueError(f"a negative price {price}")
    return report


def order_reports(rows: object) -> list[OrderStatusReport]:
    if not isinstance(rows, list):
        raise DataFormatError("the broker sent an order list that is not a list")
    return [order_report(row) for row in rows]


def order_book(rows: object) -> tuple[OrderBook, list[UnreadableRow]]:
    """Parse the order book row by row: a malformed row is set aside, never the whole book.

    The book remembers what names each row set aside, so that no order it may be is judged
    absent from the broker.
    """
    if not isinstance(rows, list):
        raise DataFormatError("the broker sent an order list that is not a list")
    reports, skipped = _each(rows, lambda row: _checked(_order_report(row)))
    names = frozenset(n for row in skipped for n in (row.order_id, row.tag) if n is not None)
    unnamed = sum(1 for row in skipped if row.order_id is None and row.tag is None)
    return OrderBook(reports, names, unnamed), skipped


def fill_report(row: dict[str, Any]) -> FillReport:
    """Parse one trade-book row; a malformed row is ``DataFormatError``.

    Malformed includes what no execution can be: a quantity that is not a positive whole
    number, a price that is not a positive finite number, a side that is neither BUY nor SELL.
    """
    if not isinstance(row, dict):
        raise DataFormatError("the broker sent a trade that is not an object")
    try:
        return _fill_report(row)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataFormatError(
            "the broker sent a trade we cannot parse",
            details={"reason": repr(exc), "trade_id": str(row.get("trade_id", ""))[:64]},
        ) from exc


def _fill_report(row: dict[str, Any]) -> FillReport:
    quantity = whole(row["quantity"])
    if quantity > MAX_QUANTITY:
        raise ValueError(f"a quantity outside 1..{MAX_QUANTITY}")
    return FillReport(
        trade_id=TradeId(_required_text(row["trade_id"])),
        broker_order_id=BrokerOrderId(_required_text(row["order_id"])),
        exchange=_required_text(row["exchange"]),
        tradingsymbol=_required_text(row["tradingsymbol"]),
        product=_required_text(row["product"]),
        transaction_type=TransactionType(_required_text(row["transaction_type"])),
        quantity=quantity,
        price=_paise(finite_decimal(row["average_price"])),
        exchange_timestamp=ist_datetime(row.get("exchange_timestamp") or row.get("fill_timestamp")),
    )


def fill_reports(rows: object) -> list[FillReport]:
    if not isinstance(rows, list):
        raise DataFormatError("the broker sent a trade list that is not a list")
    return [fill_report(row) for row in rows]


def fill_book(rows: object) -> tuple[list[FillReport], list[UnreadableRow]]:
    """Parse the trade book row by row: a malformed row is set aside, never the whole book."""
    if not isinstance(rows, list):
        raise DataFormatError("the broker sent a trade list that is not a list")
    return _each(rows, _fill_report)


def _each(
    rows: list[object], parse: Callable[[dict[str, Any]], T]
) -> tuple[list[T], list[UnreadableRow]]:
    parsed: list[T] = []
    skipped: list[UnreadableRow] = []
    for row in rows:
        if not isinstance(row, dict):
            skipped.append(UnreadableRow("not an object"))
            continue
        try:
            parsed.append(parse(row))
        except _MALFORMED as exc:
            skipped.append(_unreadable(row, exc))
    return parsed, skipped


def _unreadable(row: dict[str, Any], exc: Exception) -> UnreadableRow:
    return UnreadableRow(
        reason=repr(exc)[:_MAX_REASON],
        order_id=_name(row.get("order_id")),
        trade_id=_name(row.get("trade_id")),
        tag=_tag(row.get("tag")),
    )


def _name(value: object) -> str | None:
    """An identifier as text, if it is legible as one."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)[:_MAX_NAME]


_PAISA = Decimal("0.01")
_MAX_TAG = 20


def finite_decimal(value: object) -> Decimal:
    """Return the exact Decimal of a Kite number; NaN, infinities and booleans are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"not a number: {value!r}")
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def whole(value: object) -> int:
    """Return a Kite quantity (an integer, or an integral number); absent is zero."""
    if value is None or value == "":
        return 0
    number = finite_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"not a whole quantity: {value!r}")
    return int(number)


def decimal_or_none(value: object) -> Decimal | None:
    """Return an exact Decimal price for a Kite number (at least paise); zero means 'not set'."""
    if value is None or value == "":
        return None
    number = finite_decimal(value)
    if number == 0:
        return None
    return _paise(number)


def _paise(number: Decimal) -> Decimal:
    """Show at least paise (Kite's floats lose trailing zeros); finer digits are kept."""
    exponent = number.as_tuple().exponent
    return number.quantize(_PAISA) if isinstance(exponent, int) and exponent > -2 else number


def ist_datetime(value: object) -> datetime | None:
    """Attach IST to the SDK's naive datetimes and Kite's 'YYYY-MM-DD HH:MM:SS' strings."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=IST)
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return datetime.fromisoformat(value).replace(tzinfo=IST)  # ValueError if malformed
    return None


def _int_or_none(value: object) -> int | None:
    return None if value in (None, "") else whole(value)


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _tag(value: object) -> str | None:
    """Kite's tag: text of at most 20 characters; anything else is no tag of ours."""
    if isinstance(value, str) and 0 < len(value) <= _MAX_TAG:
        return value
    return None


def _required_text(value: object) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise TypeError(f"not an identifier: {value!r}")
    return str(value)


def segment_margins(data: object) -> list[SegmentMargins]:
    """Parse ``margins()`` (``{"equity": {...}, "commodity": {...}}``) into exact values."""
    if not isinstance(data, dict):
        raise DataFormatError("the broker sent margins that are not an object")
    try:
        return [_segment(name, body) for name, body in sorted(data.items())]
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise DataFormatError(
            "the broker sent margins we cannot parse", details={"reason": repr(exc)}
        ) from exc


def _segment(name: str, body: dict[str, Any]) -> SegmentMargins:
    return SegmentMargins(
        segment=name,
        enabled=bool(body.get("enabled", True)),
        net=finite_decimal(body["net"]),
        available=_amounts(body.get("available", {})),
        utilised=_amounts(body.get("utilised", {})),
    )


def _amounts(values: dict[str, Any]) -> dict[str, Decimal]:
    return {key: finite_decimal(value) for key, value in values.items() if value is not None}
