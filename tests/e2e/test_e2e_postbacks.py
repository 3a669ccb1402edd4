"""The postback receiver: Kite's webhook verified by checksum and applied forward-only."""

from __future__ import annotations

from typing import Any

import httpx

from order_service.domain.postback import postback_checksum
from tests.e2e.harness import MARKET, ServiceThread, wait_for


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


def test_a_replayed_checksum_cannot_cancel_or_fill_a_working_order(
    api: httpx.Client, service: ServiceThread, admin: httpx.Client
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    body = {**MARKET, "order_type": "LIMIT", "price": "1450.00"}
    order = api.post("/api/v1/orders", json=body).json()
    url = f"/api/v1/orders/{order['order_id']}"
    wait_for(lambda: api.get(url).json()["status"] == "OPEN")
    lies = [
        _postback(order, "CANCELLED"),
        _postback(order, "COMPLETE"),
        {**_postback(order, "COMPLETE"), "filled_quantity": 999_999, "average_price": "NaN"},
    ]
    with httpx.Client(base_url=service.url) as broker:  # the broker sends no bearer token
        outcomes = [broker.post("/api/v1/broker/postback", json=lie) for lie in lies]
    assert [reply.status_code for reply in outcomes] == [200, 200, 200]
    after = api.get(url).json()
    assert (after["status"], after["filled_quantity"]) == ("OPEN", 0)
    assert api.get("/api/v1/orders").status_code == 200


def test_a_forged_postback_is_refused(api: httpx.Client, service: ServiceThread) -> None:
    order = api.post("/api/v1/orders", json=MARKET).json()
    forged = _postback(order, "REJECTED", secret="not-the-secret")
    response = httpx.post(f"{service.url}/api/v1/broker/postback", json=forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert api.get(f"/api/v1/orders/{order['order_id']}").json()["status"] != "REJECTED"


def test_malformed_postbacks_are_refused_like_forged_ones(service: ServiceThread) -> None:
    url = f"{service.url}/api/v1/broker/postback"
    for reply in (httpx.post(url, content=b"nope"), httpx.post(url, json={"order_id": "1"})):
        assert reply.status_code == 401
        assert reply.json()["error"]["message"] == "the postback could not be verified"


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
