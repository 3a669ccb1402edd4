"""A user's order flow over HTTP: MARKET to COMPLETE; LIMIT rests, is modified, is cancelled."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import MARKET, wait_for

LEDGER_EVENTS = {"OrderFillRecorded", "OrderFillsReconciled"}


def _status(api: httpx.Client, order_id: str, *wanted: str) -> dict[str, Any] | None:
    body: dict[str, Any] = api.get(f"/api/v1/orders/{order_id}").json()
    return body if body["status"] in wanted else None


def test_market_order_reaches_complete(api: httpx.Client) -> None:
    placed = api.post("/api/v1/orders", json=MARKET)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "PENDING"
    assert order["broker_order_id"]
    assert len(order["broker_tag"]) == 20
    done = wait_for(lambda: _status(api, order["order_id"], "COMPLETE"))
    assert done["filled_quantity"] == 1  # type: ignore[index]
    assert done["average_price"] is not None  # type: ignore[index]
    events = api.get(f"/api/v1/orders/{order['order_id']}/events").json()
    # The trade sync adds the fill ledger's events whenever its pass comes; they are its tests'.
    lifecycle = [e for e in events if e["name"] not in LEDGER_EVENTS]
    assert [e["name"] for e in lifecycle] == [
        "OrderRequested",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
    ]
    assert [e["sequence"] for e in events] == sorted(e["sequence"] for e in events)


def test_limit_order_rests_then_is_modified_then_cancelled(
    api: httpx.Client, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    body = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}
    order = api.post("/api/v1/orders", json=body).json()
    assert order["status"] in {"PENDING", "OPEN"}
    wait_for(lambda: _status(api, order["order_id"], "OPEN"))

    modified = api.patch(f"/api/v1/orders/{order['order_id']}", json={"price": "1460.00"})
    assert modified.status_code == 200, modified.text
    assert modified.json()["modification_count"] == 1
    assert modified.json()["status"] == "OPEN"
    assert modified.json()["price"] == "1460.00"

    cancelled = api.delete(f"/api/v1/orders/{order['order_id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    names = [e["name"] for e in api.get(f"/api/v1/orders/{order['order_id']}/events").json()]
    assert names[-4:] == ["OrderModified", "OrderOpened", "OrderCancelRequested", "OrderCancelled"]
