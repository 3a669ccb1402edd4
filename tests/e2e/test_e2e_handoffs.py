"""A handoff over HTTP, run by the service's own worker: the scope's resting orders really are
cancelled at the broker before control moves, and moves back the same way."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import MARKET, wait_for

RESTING = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}


def _broker_orders(admin: httpx.Client, tags: set[str]) -> dict[str, str]:
    orders: list[dict[str, Any]] = admin.get("/state").json()["data"]["orders"]
    return {o["tag"]: o["status"] for o in orders if o.get("tag") in tags}


def _status(api: httpx.Client, path: str) -> str:
    return str(api.get(path).json()["status"])


def _hand_off(api: httpx.Client, trigger: str) -> dict[str, Any]:
    asked = {"account_id": MARKET["account_id"], "trigger": trigger}
    accepted = api.post("/api/v1/handoffs", json=asked)
    assert accepted.status_code == 202, accepted.text
    path = f"/api/v1/handoffs/{accepted.json()['handoff_id']}"
    assert wait_for(lambda: _status(api, path) == "COMPLETED")
    done: dict[str, Any] = api.get(path).json()
    return done


def test_a_handoff_cancels_the_resting_orders_at_the_broker_before_control_moves(
    api: httpx.Client, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    placed = [api.post("/api/v1/orders", json=RESTING).json() for _ in range(2)]
    for order in placed:
        path = f"/api/v1/orders/{order['order_id']}"
        assert wait_for(lambda path=path: _status(api, path) == "OPEN")
    tags = {order["broker_tag"] for order in placed}

    to_script = _hand_off(api, "to_script")
    refused = api.post("/api/v1/orders", json=RESTING)
    to_manual = _hand_off(api, "to_manual")

    assert set(_broker_orders(admin, tags).values()) == {"CANCELLED"}
    cancelled = {s["data"]["order_id"] for s in to_script["steps"]
                 if s["name"] == "OrderCancelRequested"}  # fmt: skip
    # The account scope's every working order is cancelled: ours, and any an earlier test of
    # the shared service left resting on the account.
    assert {order["order_id"] for order in placed} <= cancelled
    for order_id in cancelled:
        assert _status(api, f"/api/v1/orders/{order_id}") in {"CANCELLED", "COMPLETE"}
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "OWNERSHIP_CONFLICT"
    assert to_manual["from_mode"] == "script"
    assert api.post("/api/v1/orders", json=RESTING).status_code == 201  # people trade again
