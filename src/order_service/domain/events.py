"""Order events: the append-only record of everything that happened to an order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from order_service.domain.ids import OrderId
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import NOT_SENT

# Event names are noun + past participle, one per trigger of the state table.
EVENT_NAMES: dict[OrderTrigger, str] = {
    OrderTrigger.SUBMIT: "OrderSubmitted",
    OrderTrigger.DENY: "OrderDenied",
    OrderTrigger.ACCEPT: "OrderAccepted",
    OrderTrigger.FAIL: "OrderFailed",
    OrderTrigger.LOSE_TRACK: "OrderOutcomeUnknown",
    OrderTrigger.NOT_FOUND: "OrderNotFoundAtBroker",
    OrderTrigger.REQUEST_MODIFY: "OrderModifyRequested",
    OrderTrigger.REQUEST_CANCEL: "OrderCancelRequested",
    OrderTrigger.REPORT_PENDING: "OrderPendingReported",
    OrderTrigger.REPORT_OPEN: "OrderOpened",
    OrderTrigger.REPORT_TRIGGER_PENDING: "OrderTriggerPendingReported",
    OrderTrigger.REPORT_MODIFY_PENDING: "OrderModifyPendingReported",
    OrderTrigger.REPORT_CANCEL_PENDING: "OrderCancelPendingReported",
    OrderTrigger.REPORT_COMPLETE: "OrderFilled",
    OrderTrigger.REPORT_CANCELLED: "OrderCancelled",
    OrderTrigger.REPORT_REJECTED: "OrderRejected",
    OrderTrigger.WITHDRAW_TO_PENDING: "OrderAmendmentWithdrawn",
    OrderTrigger.WITHDRAW_TO_OPEN: "OrderAmendmentWithdrawn",
    OrderTrigger.WITHDRAW_TO_TRIGGER_PENDING: "OrderAmendmentWithdrawn",
    OrderTrigger.WITHDRAW_TO_MODIFY_PENDING: "OrderAmendmentWithdrawn",
}
ORDER_REQUESTED = "OrderRequested"
ORDER_PARTIALLY_FILLED = "OrderPartiallyFilled"
ORDER_MODIFIED = "OrderModified"
KEY_RELEASED = "IdempotencyKeyReleased"
ORDER_TERMS_OUTSIDE_RULES = "OrderTermsOutsideRules"
# Drift found by reconciliation: an order placed outside the service, recorded as it was found;
# a book row with an order's broker id but another tag (never adopted).
EXTERNAL_ORDER_RECORDED = "ExternalOrderRecorded"
ORDER_REPORT_MISMATCHED = "OrderReportMismatched"
# What a reconciliation pass adds to the events of a change it found (``found_by``).
FOUND_BY_ORDER_BOOK = "order_book"
# Why the resolver failed an order: the broker's book, read after the grace window, lacks it.
NOT_FOUND_AT_BROKER = "not found at the broker"
# Failures that prove the broker never took the order, so the caller's key may be retried.
RETRYABLE_FAILURE_CODES = frozenset(error.code for error in NOT_SENT)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One thing that happened to an order; ``sequence`` is assigned when it is stored."""

    order_id: OrderId
    name: str
    occurred_at: datetime
    status_before: OrderStatus | None
    status_after: OrderStatus
    data: dict[str, Any] = field(default_factory=dict)
    sequence: int | None = None

    @classmethod
    def of(
        cls,
        order_id: OrderId,
        trigger: OrderTrigger,
        before: OrderStatus,
        after: OrderStatus,
        at: datetime,
        data: dict[str, Any],
    ) -> OrderEvent:
        return cls(order_id, EVENT_NAMES[trigger], at, before, after, dict(data))

    @classmethod
    def requested(cls, order_id: OrderId, at: datetime, data: dict[str, Any]) -> OrderEvent:
        return cls(order_id, ORDER_REQUESTED, at, None, OrderStatus.NEW, dict(data))

    @classmethod
    def fill_update(
        cls,
        order_id: OrderId,
        status: OrderStatus,
        filled_quantity: int,
        average_price: Decimal | None,
        at: datetime,
    ) -> OrderEvent:
        data: dict[str, Any] = {"filled_quantity": filled_quantity}
        if average_price is not None:
            data["average_price"] = str(average_price)
        return cls(order_id, ORDER_PARTIALLY_FILLED, at, status, status, data)


def is_retryable_failure(event: OrderEvent) -> bool:
    """Return True if this (last) event failed the order without it reaching the broker."""
    if event.name == EVENT_NAMES[OrderTrigger.NOT_FOUND]:
        return True
    return event.name == EVENT_NAMES[OrderTrigger.FAIL] and (
        event.data.get("error_code") in RETRYABLE_FAILURE_CODES
        or event.data.get("reason") == NOT_FOUND_AT_BROKER
    )
