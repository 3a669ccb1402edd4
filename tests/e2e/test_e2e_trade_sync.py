"""A MARKET order placed over HTTP ends with its fill in the ledger, recorded once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx

from order_service.bootstrap import bootstrap
from order_service.domain.fill import ORDER_FILL_RECORDED, Fill
from order_service.domain.ids import OrderId
from tests.e2e.harness import MARKET, ServiceThread, wait_for


def ledger(service: ServiceThread, order_id: str) -> list[Fill]:
    """Read the order's fills through the trade service, over the service's own database."""

    async def read() -> list[Fill]:
        services = bootstrap(service.settings)
        try:
            return await services.trades.fills_of(OrderId(order_id))
        finally:
            await services.close()

    return asyncio.run(read())


def completed(api: httpx.Client, order_id: str) -> dict[str, Any] | None:
    body: dict[str, Any] = api.get(f"/api/v1/orders/{order_id}").json()
    return body if body["status"] == "COMPLETE" else None


def test_a_market_order_ends_with_its_fill_in_the_ledger(
    api: httpx.Client, service: ServiceThread
) -> None:
    placed = api.post("/api/v1/orders", json=MARKET)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]

    fills = wait_for(lambda: ledger(service, order_id), timeout=20)
    order = wait_for(lambda: completed(api, order_id))

    assert isinstance(fills, list)
    assert isinstance(order, dict)
    assert len(fills) == 1
    fill: Fill = fills[0]
    assert fill.report.broker_order_id == placed.json()["broker_order_id"]
    assert fill.report.quantity == order["filled_quantity"] == 1
    assert fill.report.price == Decimal(order["average_price"])
    events = api.get(f"/api/v1/orders/{order_id}/events").json()
    assert [e["data"]["trade_id"] for e in events if e["name"] == ORDER_FILL_RECORDED] == [
        fill.trade_id
    ]
