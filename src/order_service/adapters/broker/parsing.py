"""Turn the SDK's order dictionaries into ``OrderStatusReport``s (Kite speaks naive IST)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from order_service.domain.account import IST
from order_service.domain.ids import BrokerOrderId
from order_service.domain.reports import OrderStatusReport, SegmentMargins
from order_service.errors import DataFormatError


def order_report(row: dict[str, Any]) -> OrderStatusReport:
    """Parse one order (book row or history entry); a malformed row is ``DataFormatError``."""
    try:
        return OrderStatusReport(
            broker_order_id=BrokerOrderId(str(row["order_id"])),
            raw_status=str(row["status"]),
            tag=row.get("tag") or None,
            exchange_order_id=_text(row.get("exchange_order_id")),
            quantity=int(row.get("quantity") or 0),
            filled_quantity=int(row.get("filled_quantity") or 0),
            pending_quantity=int(row.get("pending_quantity") or 0),
            cancelled_quantity=int(row.get("cancelled_quantity") or 0),
            disclosed_quantity=_int_or_none(row.get("disclosed_quantity")),
            price=decimal_or_none(row.get("price")),
            trigger_price=decimal_or_none(row.get("trigger_price")),
            average_price=decimal_or_none(row.get("average_price")),
            status_message=_text(row.get("status_message")),
            reported_at=ist_datetime(
                row.get("exchange_update_timestamp") or row.get("order_timestamp")
            ),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataFormatError(
            "the broker sent an order we cannot parse",
            details={"reason": repr(exc), "order_id": str(row.get("order_id", ""))},
        ) from exc


def order_reports(rows: object) -> list[OrderStatusReport]:
    if not isinstance(rows, list):
        raise DataFormatError("the broker sent an order list that is not a list")
    return [order_report(row) for row in rows]


_PAISA = Decimal("0.01")


def decimal_or_none(value: object) -> Decimal | None:
    """Return an exact Decimal price for a Kite number (at least paise); zero means 'not set'."""
    if value is None or value == "":
        return None
    number = Decimal(str(value))
    if number == 0:
        return None
    exponent = number.as_tuple().exponent
    return number.quantize(_PAISA) if isinstance(exponent, int) and exponent > -2 else number


def ist_datetime(value: object) -> datetime | None:
    """Attach IST to the SDK's naive datetimes and Kite's 'YYYY-MM-DD HH:MM:SS' strings."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=IST)
    if isinstance(value, str) and len(value) == 19:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    return None


def _int_or_none(value: object) -> int | None:
    return None if value in (None, "") else int(str(value))


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


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
        net=Decimal(str(body["net"])),
        available=_amounts(body.get("available", {})),
        utilised=_amounts(body.get("utilised", {})),
    )


def _amounts(values: dict[str, Any]) -> dict[str, Decimal]:
    return {key: Decimal(str(value)) for key, value in values.items() if value is not None}
