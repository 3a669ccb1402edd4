"""What enters from the broker: impossible numbers and odd tags never reach our books."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from order_service.adapters.broker.parsing import finite_decimal, order_report, segment_margins
from order_service.domain.order import MAX_QUANTITY
from order_service.domain.status import OrderStatus
from order_service.errors import DataFormatError
from tests.unit.conftest import ACCOUNT, World
from tests.unit.factories import make_limit_request

ROW: dict[str, Any] = {
    "order_id": "2611290000001",
    "status": "OPEN",
    "tag": "OURTAG",
    "quantity": 10,
    "filled_quantity": 0,
    "price": 1520.5,
}


@pytest.mark.parametrize(
    "change",
    [
        {"average_price": "NaN"},
        {"price": float("inf")},
        {"price": "-Infinity"},
        {"trigger_price": "sNaN"},
        {"price": -1},
        {"quantity": -1},
        {"filled_quantity": 11},
        {"quantity": 0, "filled_quantity": MAX_QUANTITY + 1},
        {"quantity": 10**30},
        {"pending_quantity": 2.5},
        {"quantity": True},
        {"order_id": ["1"]},
        {"order_id": ""},
        {"status": None},
    ],
    ids=str,
)
def test_an_impossible_order_row_is_bad_upstream_data(change: dict[str, Any]) -> None:
    with pytest.raises(DataFormatError):
        order_report({**ROW, **change})


@pytest.mark.parametrize("tag", [["x"], {"a": 1}, 12, "T" * 21, ""], ids=str)
def test_a_tag_that_cannot_be_kites_is_no_tag(tag: object) -> None:
    assert order_report({**ROW, "tag": tag}).tag is None


def test_margins_refuse_non_finite_amounts() -> None:
    body = {"equity": {"enabled": True, "net": "NaN", "available": {}, "utilised": {}}}
    with pytest.raises(DataFormatError):
        segment_margins(body)
    with pytest.raises(ValueError, match="finite"):
        finite_decimal("Infinity")


@pytest.mark.asyncio
async def test_a_report_filling_more_than_the_order_holds_is_never_applied(world: World) -> None:
    placed = await world.services.orders.place_order(world.trader, make_limit_request(), None)
    assert placed.order.broker_order_id is not None
    report = world.broker.book[placed.order.broker_order_id]
    overfilled = replace(report, raw_status="COMPLETE", quantity=0, filled_quantity=5000)
    world.broker.book[placed.order.broker_order_id] = overfilled

    await world.services.reconcile.sync_account(ACCOUNT)

    after = world.store.orders[placed.order.order_id]
    assert (after.status, after.filled_quantity) == (OrderStatus.PENDING, 0)
