"""The order sync finds orders placed in the Kite app even where no order of ours is working,
and counts every kind of drift a book pass finds."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from order_service.domain.ids import BrokerOrderId
from order_service.domain.order import OrderSource
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from tests.external_reports import app_order_row
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio
APP_ORDER = BrokerOrderId("251130000000778")


def drift(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("order_service_reconciliation_drift_total", labels) or 0.0


async def test_an_app_order_is_recorded_on_an_account_with_nothing_of_ours_working(
    world: World,
) -> None:
    assert world.store.orders == {}  # nothing unsettled of ours: no reason but the account's
    world.broker.book[APP_ORDER] = app_order_row(APP_ORDER, "OPEN")
    before = drift("external_order")

    await OrderSyncWorker(world.services).run_once()

    (order,) = world.store.orders.values()
    assert (order.source, order.broker_order_id) == (OrderSource.EXTERNAL, APP_ORDER)
    assert drift("external_order") == before + 1


async def test_a_second_pass_records_it_once_and_counts_it_once(world: World) -> None:
    world.broker.book[APP_ORDER] = app_order_row(APP_ORDER, "OPEN")
    worker = OrderSyncWorker(world.services)
    await worker.run_once()
    before, reads = drift("external_order"), world.broker.calls["orders"]
    world.clock.advance(world.services.settings.sync_book_interval_seconds)

    await worker.run_once()

    assert world.broker.calls["orders"] == reads + 1  # the book was read again
    assert len(world.store.orders) == 1
    assert drift("external_order") == before
