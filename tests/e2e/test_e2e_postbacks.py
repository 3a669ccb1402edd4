"""The postback receiver: Kite's webhook verified by checksum and applied forward-only."""

from __future__ import annotations

from typing import Any

import httpx

from order_service.domain.postback import postback_checksum
from tests.e2e.harness import MARKET, ServiceThread


def _postback(order: dict[str, Any], status: str, secret: str = "paper-secret") -> dict[str, Any]:
    stamp = "2026-11-30 10:15:00"
    return {
        "user_id": order["account_id"],
        "order_id": order["broker_order_id"],
        "order_timestamp": stamp,
        "exchange_update_timestamp": stamp,
        "status": status,
        "tag": order["broker_tag"],
        "quantity": order["quantity"],
        "filled_quantity": 0 if status != "COMPLETE" else order["quantity"],
        "pending_quantity": 0,
        "cancelled_quantity": order["quantity"] if status == "CANCELLED" else 0,
        "price": 1450,
        "average_price": 0,
        "checksum": postback_checksum(order["broker_order_id"], stamp, secret),
    }


def test_a_verified_postback_moves_the_order_once(
    api: httpx.Client, service: ServiceThread, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    body = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}
    order = api.post("/api/v1/orders", json=body).json()
    with httpx.Client(base_url=service.url) as broker:  # the broker sends no bearer token
        first = broker.post("/api/v1/broker/postback", json=_postback(order, "CANCELLED"))
        assert first.json() == {"outcome": "applied"}
        again = broker.post("/api/v1/broker/postback", json=_postback(order, "CANCELLED"))
        assert again.json() == {"outcome": "duplicate"}
        stale = broker.post("/api/v1/broker/postback", json=_postback(order, "OPEN"))
        assert stale.json() == {"outcome": "duplicate"}
    assert api.get(f"/api/v1/orders/{order['order_id']}").json()["status"] == "CANCELLED"


def test_a_forged_postback_is_refused(api: httpx.Client, service: ServiceThread) -> None:
    order = api.post("/api/v1/orders", json=MARKET).json()
    forged = _postback(order, "REJECTED", secret="not-the-secret")
    response = httpx.post(f"{service.url}/api/v1/broker/postback", json=forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert api.get(f"/api/v1/orders/{order['order_id']}").json()["status"] != "REJECTED"


def test_malformed_postbacks_are_invalid_input(service: ServiceThread) -> None:
    url = f"{service.url}/api/v1/broker/postback"
    assert httpx.post(url, content=b"nope").json()["error"]["code"] == "INVALID_INPUT"
    missing = httpx.post(url, json={"order_id": "1"}).json()["error"]
    assert missing["details"]["field"] == "order_timestamp"


def test_an_order_placed_elsewhere_is_reported_unknown(service: ServiceThread) -> None:
    stranger = {
        "account_id": "PAPER1",
        "broker_order_id": "999000111",
        "broker_tag": "WEBORDER",
        "quantity": 1,
    }
    response = httpx.post(
        f"{service.url}/api/v1/broker/postback", json=_postback(stranger, "COMPLETE")
    )
    assert response.json() == {"outcome": "unknown_order"}
