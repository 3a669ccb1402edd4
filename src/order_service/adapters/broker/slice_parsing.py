"""Kite's answer to an autoslice placement: the parent id and one child per slice.

Each child is either ``{"order_id": …}`` or an embedded error (``code``, ``error_type``,
``message``, ``data``; KITE.md 5.2), here read at the child's top level or under ``error``. A
reply that is not of this shape raises (``KeyError``, ``TypeError``, ``ValueError``), which the
adapter takes for a malformed reply: the placement's outcome is unknown.
"""

from __future__ import annotations

from typing import Any

from order_service.domain.ids import BrokerOrderId
from order_service.domain.reports import SliceReport

_ORDER_REFUSED = "OrderException"


def slice_reports(reply: dict[str, Any]) -> list[SliceReport]:
    """Return one report per child, in the broker's order."""
    children = reply["children"]
    if not isinstance(children, list) or not children:
        raise ValueError("an autoslice reply without children")
    return [_slice(child) for child in children]


def _slice(child: dict[str, Any]) -> SliceReport:
    order_id = child.get("order_id")
    if order_id:
        return SliceReport(BrokerOrderId(str(order_id)))
    error = child.get("error") or child
    return SliceReport(None, str(error.get("error_type") or _ORDER_REFUSED), str(error["message"]))
