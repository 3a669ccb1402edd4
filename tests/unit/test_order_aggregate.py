"""The Order aggregate: moves record events; broker reports only ever move it forward."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import MAX_MODIFICATIONS, Order
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import InvalidTransition, ValidationError
from tests.factories import NOW, make_limit_request, make_order, make_report, make_request

LATER = NOW + timedelta(seconds=5)
BROKER_ID = BrokerOrderId("0000000000001")


def working_order(status: OrderStatus = OrderStatus.OPEN, **overrides: object) -> Order:
    """Return an accepted LIMIT order in ``status`` with no pending events."""
    order = make_order(
        request=make_limit_request(),
        status=status,
        broker_order_id=BROKER_ID,
        **overrides,
    )
    assert order.pending_events == []
    return order


def names(order: Order) -> list[str]:
    return [event.name for event in order.pending_events]


def test_a_move_records_one_event_with_before_after_and_data() -> None:
    order = make_order()
    order.move(OrderTrigger.SUBMIT, LATER, note="x")
    (event,) = order.pending_events
    assert (event.name, event.status_before, event.status_after) == (
        "OrderSubmitted",
        OrderStatus.NEW,
        OrderStatus.SUBMITTING,
    )
    assert event.data == {"note": "x"}
    assert event.occurred_at == LATER
    assert order.updated_at == LATER


def test_a_forbidden_move_changes_nothing() -> None:
    order = make_order()
    with pytest.raises(InvalidTransition):
        order.move(OrderTrigger.ACCEPT, LATER)
    assert order.status is OrderStatus.NEW
    assert order.pending_events == []
    assert order.updated_at == NOW


def test_accept_stores_the_broker_id() -> None:
    order = make_order(status=OrderStatus.SUBMITTING)
    order.accept(BROKER_ID, LATER)
    assert order.status is OrderStatus.PENDING
    assert order.broker_order_id == BROKER_ID
    assert order.pending_events[-1].data == {"broker_order_id": BROKER_ID}


def test_a_record_keeps_the_state() -> None:
    order = working_order()
    order.record("OrderModified", LATER, price="1519")
    (event,) = order.pending_events
    assert (event.status_before, event.status_after) == (OrderStatus.OPEN, OrderStatus.OPEN)


def test_modifications_are_capped_at_25() -> None:
    assert working_order(modification_count=MAX_MODIFICATIONS - 1).can_be_modified
    assert not working_order(modification_count=MAX_MODIFICATIONS).can_be_modified


@pytest.mark.parametrize(
    ("start", "raw", "after", "event"),
    [
        (OrderStatus.PENDING, "OPEN", OrderStatus.OPEN, "OrderOpened"),
        (OrderStatus.PENDING, "COMPLETE", OrderStatus.COMPLETE, "OrderFilled"),
        (OrderStatus.OPEN, "CANCELLED", OrderStatus.CANCELLED, "OrderCancelled"),
        (OrderStatus.UNKNOWN, "OPEN PENDING", OrderStatus.PENDING, "OrderPendingReported"),
        (
            OrderStatus.OPEN,
            "MODIFY PENDING",
            OrderStatus.MODIFY_PENDING,
            "OrderModifyPendingReported",
        ),
        (OrderStatus.MODIFY_PENDING, "MODIFIED", OrderStatus.OPEN, "OrderOpened"),
        (OrderStatus.TRIGGER_PENDING, "REJECTED", OrderStatus.REJECTED, "OrderRejected"),
    ],
)
def test_a_forward_report_moves_the_order_and_records_it(
    start: OrderStatus, raw: str, after: OrderStatus, event: str
) -> None:
    order = working_order(start)
    assert order.apply_report(make_report(raw, status_message="why"), LATER)
    assert order.status is after
    assert names(order) == [event]
    assert order.pending_events[0].data["broker_status"] == raw
    assert order.pending_events[0].data["status_message"] == "why"
    assert order.broker_status == raw


def test_a_fill_report_records_quantities_and_price() -> None:
    order = working_order(OrderStatus.PENDING)
    report = make_report("COMPLETE", filled_quantity=10, average_price=Decimal("1520.25"))
    assert order.apply_report(report, LATER)
    assert order.filled_quantity == 10
    assert order.average_price == Decimal("1520.25")
    assert order.pending_events[0].data == {
        "broker_status": "COMPLETE",
        "filled_quantity": 10,
        "average_price": "1520.25",
    }


@pytest.mark.parametrize(
    ("start", "raw"),
    [
        (OrderStatus.COMPLETE, "OPEN"),
        (OrderStatus.CANCELLED, "OPEN"),
        (OrderStatus.REJECTED, "COMPLETE"),
        (OrderStatus.OPEN, "OPEN PENDING"),
        (OrderStatus.OPEN, "PUT ORDER REQ RECEIVED"),
        (OrderStatus.OPEN, "TRIGGER PENDING"),
        (OrderStatus.PENDING, "PUT ORDER REQ RECEIVED"),
    ],
)
def test_a_stale_report_is_ignored(start: OrderStatus, raw: str) -> None:
    order = working_order(start)
    assert not order.apply_report(make_report(raw), LATER)
    assert order.status is start
    assert order.pending_events == []
    assert order.broker_status is None
    assert order.updated_at == NOW


def test_an_unknown_status_is_ignored() -> None:
    order = working_order()
    assert not order.apply_report(make_report("SOMETHING NEW"), LATER)
    assert order.status is OrderStatus.OPEN
    assert order.pending_events == []


def test_a_partial_fill_on_open_stays_open_and_records_the_fill() -> None:
    order = working_order()
    report = make_report("OPEN", filled_quantity=4, average_price=Decimal("1520.10"))
    assert order.apply_report(report, LATER)
    assert order.status is OrderStatus.OPEN
    assert order.filled_quantity == 4
    (event,) = order.pending_events
    assert event.name == "OrderPartiallyFilled"
    assert event.data == {"filled_quantity": 4, "average_price": "1520.10"}


def test_a_repeated_report_is_not_news() -> None:
    order = working_order()
    report = make_report("OPEN", filled_quantity=4)
    assert order.apply_report(report, LATER)
    assert not order.apply_report(report, LATER)
    assert names(order) == ["OrderPartiallyFilled"]


def test_a_stale_partial_fill_is_ignored() -> None:
    order = working_order()
    order.apply_report(make_report("OPEN", filled_quantity=6, average_price=Decimal(1521)), LATER)
    order.pending_events.clear()
    stale = make_report("OPEN", filled_quantity=3, average_price=Decimal(1519))
    assert not order.apply_report(stale, LATER)
    assert order.pending_events == []
    assert order.average_price == Decimal(1521)


def test_a_report_updates_the_broker_fields_and_the_modified_terms() -> None:
    order = working_order(OrderStatus.MODIFY_PENDING)
    report = make_report(
        "OPEN",
        price=Decimal("1519.95"),
        quantity=12,
        exchange_order_id="1100000000012345",
    )
    assert order.apply_report(report, LATER)
    assert order.request.price == Decimal("1519.95")
    assert order.request.quantity == 12
    assert order.exchange_order_id == "1100000000012345"


def test_a_report_with_zero_prices_keeps_the_requested_terms() -> None:
    order = working_order(OrderStatus.PENDING)
    report = make_report("OPEN", price=Decimal(0), trigger_price=Decimal(0), quantity=0)
    assert order.apply_report(report, LATER)
    assert order.request == make_limit_request()


def test_a_report_adopts_the_broker_id_only_when_missing() -> None:
    order = make_order(status=OrderStatus.UNKNOWN)
    order.apply_report(make_report("OPEN", broker_order_id=BrokerOrderId("777")), LATER)
    assert order.broker_order_id == "777"
    order.apply_report(make_report("COMPLETE", broker_order_id=BrokerOrderId("888")), LATER)
    assert order.broker_order_id == "777"


@pytest.mark.parametrize("start", [OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING])
def test_an_update_postback_records_a_fill_in_place(start: OrderStatus) -> None:
    order = working_order(start, broker_status="OPEN")

    assert order.apply_report(make_report("UPDATE", filled_quantity=4), LATER)
    assert not order.apply_report(make_report("UPDATE", filled_quantity=4), LATER)

    assert order.status is start
    assert order.filled_quantity == 4
    assert order.broker_status == "OPEN"
    assert names(order) == ["OrderPartiallyFilled"]


def test_broker_terms_our_rules_refuse_are_kept_and_recorded() -> None:
    order = working_order(OrderStatus.OPEN, broker_status="OPEN")
    order.pending_events.clear()

    report = make_report("OPEN", quantity=order.request.quantity, disclosed_quantity=999)
    order.apply_report(replace(report, filled_quantity=1), LATER)

    assert order.request.disclosed_quantity == 999  # the broker's truth, not ours to refuse
    (noted,) = [e for e in order.pending_events if e.name == "OrderTermsOutsideRules"]
    assert noted.data["disclosed_quantity"] == "999"
    assert "disclosed_quantity" in noted.data["reason"]


def test_a_new_request_is_checked_and_a_stored_one_is_rebuilt_as_it_was() -> None:
    with pytest.raises(ValidationError):
        make_request(quantity=0)
    stored = replace(make_request(), quantity=0)  # a row written under older rules
    assert stored.quantity == 0


@pytest.mark.parametrize("pending", [OrderStatus.MODIFY_PENDING, OrderStatus.CANCEL_PENDING])
def test_an_amendment_of_an_amo_settles_back_while_it_waits_for_the_open(
    pending: OrderStatus,
) -> None:
    order = working_order(OrderStatus.PENDING, broker_status="AMO REQ RECEIVED")
    trigger = (
        OrderTrigger.REQUEST_MODIFY
        if pending is OrderStatus.MODIFY_PENDING
        else OrderTrigger.REQUEST_CANCEL
    )
    order.move(trigger, LATER)

    assert order.apply_report(make_report("AMO REQ RECEIVED"), LATER)

    assert order.status is OrderStatus.PENDING
    order.move(OrderTrigger.REQUEST_MODIFY, LATER)  # a second modification is possible again
