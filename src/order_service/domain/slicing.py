"""An autoslice placement in our books: one order per slice the broker placed or refused.

The order the caller placed becomes the first slice (its quantity the first slice's); each
further slice is an order of its own, in the same strategy, placed by the same user. Kite gives
every slice the tag we sent, so a further slice keeps that tag as its request's tag (as an
order placed outside the service is known by its placer's tag) and has no tag of its own: the
tag stays unique to the order that sent it, and each slice is known by its broker id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from order_service.domain.events import FOUND_BY_ORDER_BOOK, OrderEvent
from order_service.domain.ids import ClientOrderId, OrderId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport, SliceReport
from order_service.domain.status import OrderTrigger

SLICE_REFUSED = "ORDER_REJECTED"


def settle_slice(order: Order, report: SliceReport, at: datetime) -> None:
    """Record the broker's answer for one slice: accepted under its id, or refused."""
    if report.broker_order_id is not None:
        order.accept(report.broker_order_id, at)
        return
    order.move(
        OrderTrigger.FAIL,
        at,
        error_code=SLICE_REFUSED,
        error_message=report.message,
        broker_error_type=report.error_type,
    )


def first_slice(order: Order, quantity: int, report: SliceReport, at: datetime) -> None:
    """Make the placed order the first slice, of ``quantity``."""
    order.request = replace(order.request, quantity=quantity)
    settle_slice(order, report, at)


def further_slices(
    parent: Order,
    quantities: list[int],
    reports: list[SliceReport],
    ids: list[OrderId],
    at: datetime,
) -> list[Order]:
    """The orders of the slices after the first, one id each (a slice beyond those we expected
    takes the first's quantity: Kite slices at the freeze quantity)."""
    return [
        _slice(parent, index, _quantity(quantities, index), report, order_id, at)
        for index, (report, order_id) in enumerate(zip(reports[1:], ids, strict=True), 1)
    ]


def found_slices(
    parent: Order, rows: Sequence[OrderStatusReport], ids: Sequence[OrderId], at: datetime
) -> list[Order]:
    """The orders of slices found in the broker's book under ``parent``'s tag that no order of
    ours holds (an autoslice whose answer was lost, or whose placer ended before recording
    it), one per row in the order given; each takes its row's state."""
    found = []
    for index, (row, order_id) in enumerate(zip(rows, ids, strict=True), 1):
        quantity = row.quantity or parent.request.quantity
        order = _slice(parent, index, quantity, SliceReport(row.broker_order_id), order_id, at)
        order.adopt(row, at, found_by=FOUND_BY_ORDER_BOOK)
        found.append(order)
    return found


# A further slice's client order id: an order id (a ULID) and the slice's place.
_SLICE_KEY = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}\.[1-9][0-9]*")
# The client order ids of the orders ``POST /api/v1/positions/close`` places begin so, and
# those of a halt's square-offs (the kill switch's flatten): reserved, as slices' are.
CLOSE_KEY_PREFIX = "close:"
FLATTEN_KEY_PREFIX = "flatten:"


def is_internal_key(key: str) -> bool:
    """True if ``key`` has the shape of a close's or a square-off's order key (reserved)."""
    return key.startswith((CLOSE_KEY_PREFIX, FLATTEN_KEY_PREFIX))


def is_slice_key(key: str) -> bool:
    """True if ``key`` has the shape of a further slice's client order id: reserved, so no
    caller's key is ever taken for a slice of another order (or a slice for its order)."""
    return _SLICE_KEY.fullmatch(key.upper()) is not None


def slice_key(parent: OrderId, index: int) -> ClientOrderId:
    """The client order id of a further slice (``index`` 1 for the second): the placed
    order's id and the slice's place, so a repeated key finds every slice again."""
    return ClientOrderId(f"{parent}.{index}")


def _quantity(quantities: list[int], index: int) -> int:
    return quantities[index] if index < len(quantities) else quantities[0]


def _slice(
    parent: Order,
    index: int,
    quantity: int,
    report: SliceReport,
    order_id: OrderId,
    at: datetime,
) -> Order:
    request = replace(parent.request, quantity=quantity, tag=parent.tag, autoslice=False)
    order = Order(
        order_id=order_id,
        client_order_id=slice_key(parent.order_id, index),
        request=request,
        request_fingerprint=request.fingerprint(),
        tag=None,
        strategy_id=parent.strategy_id,
        user_id=parent.user_id,
        created_at=at,
        updated_at=at,
        placed_by=parent.placed_by,
        origin=parent.origin,
    )
    data = {"slice_of": parent.order_id, "slice": index, "quantity": quantity}
    order.pending_events.append(OrderEvent.requested(order_id, at, data))
    order.move(OrderTrigger.SUBMIT, at)
    settle_slice(order, report, at)
    return order
