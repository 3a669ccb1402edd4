"""The emergency stop over HTTP: the account's resting orders really are cancelled at the broker."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import MARKET, wait_for


def _broker_orders(admin: httpx.Client, tags: set[str]) -> dict[str, str]:
    orders: list[dict[str, Any]] = admin.get("/state").json()["data"]["orders"]
    return {o["tag"]: o["status"] for o in orders if o.get("tag") in tags}


def _open(api: httpx.Client, order_id: str) -> bool:
    return bool(api.get(f"/api/v1/orders/{order_id}").json()["status"] == "OPEN")


def test_a_stop_cancels_the_resting_orders_at_the_broker_and_leaves_the_account_manual(
    api: httpx.Client, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    resting = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}
    placed = [api.post("/api/v1/orders", json=resting).json() for _ in range(3)]
    for order in placed:
        assert wait_for(lambda order=order: _open(api, order["order_id"]))
    tags = {order["broker_tag"] for order in placed}
    assert set(_broker_orders(admin, tags).values()) == {"OPEN"}

    stopped = api.post(f"/api/v1/accounts/{MARKET['account_id']}/emergency-stop")

    assert stopped.status_code == 200, stopped.text
    outcomes = {o["order_id"]: o for o in stopped.json()["orders"]}
    for order in placed:
        assert outcomes[order["order_id"]]["status"] == "CANCELLED"
        assert outcomes[order["order_id"]]["cancelled"] is True
    assert set(_broker_orders(admin, tags).values()) == {"CANCELLED"}
    assert stopped.json()["control_mode"] == "manual"
    assert api.post("/api/v1/orders", json=resting).status_code == 201  # people trade on
