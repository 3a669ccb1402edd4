"""Alerts over HTTP: a TradingView and a ChartInk alert fill at the paper broker, each once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.harness import ServiceThread, error_body, wait_for


def _strategy(api: httpx.Client) -> str:
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    created = api.post("/api/v1/strategies", json={"account_id": "PAPER1", "name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["strategy_id"])


def _token(api: httpx.Client, strategy_id: str, **template: Any) -> dict[str, Any]:
    created = api.post(f"/api/v1/strategies/{strategy_id}/signal-tokens", json=template)
    assert created.status_code == 201, created.text
    token: dict[str, Any] = created.json()
    return token


def _filled(api: httpx.Client, order_id: str) -> dict[str, Any]:
    def complete() -> dict[str, Any] | None:
        order: dict[str, Any] = api.get(f"/api/v1/orders/{order_id}").json()
        return order if order["status"] == "COMPLETE" else None

    found = wait_for(complete)
    assert isinstance(found, dict)
    return found


def test_a_tradingview_alert_fills_once_and_a_revoked_token_places_nothing(
    api: httpx.Client, service: ServiceThread
) -> None:
    strategy_id = _strategy(api)
    token = _token(api, strategy_id, exchange="NSE", product="MIS", max_quantity=5)
    alert = {"action": "buy", "ticker": "INFY", "quantity": "2", "id": uuid.uuid4().hex}
    with httpx.Client(base_url=service.url, timeout=15) as tool:  # no bearer header
        first = tool.post(token["url"], json=alert)
        assert first.status_code == 201, first.text
        (order,) = first.json()["orders"]
        again = tool.post(token["url"], json=alert)
        revoked = api.delete(f"/api/v1/strategies/{strategy_id}/signal-tokens/{token['token_id']}")
        after = tool.post(token["url"], json={**alert, "id": uuid.uuid4().hex})

    assert (order["strategy_id"], order["origin"], order["quantity"]) == (strategy_id, "script", 2)
    assert _filled(api, order["order_id"])["filled_quantity"] == 2
    assert again.status_code == 200
    assert again.json()["orders"][0]["order_id"] == order["order_id"]
    assert revoked.status_code == 204
    error_body(after, 404, "NOT_FOUND")
    mine = api.get("/api/v1/orders", params={"strategy_id": strategy_id}).json()["items"]
    assert [o["order_id"] for o in mine] == [order["order_id"]]


def test_a_chartink_alert_places_an_order_per_stock(
    api: httpx.Client, service: ServiceThread
) -> None:
    strategy_id = _strategy(api)
    token = _token(
        api, strategy_id, exchange="NSE", product="MIS", transaction_type="BUY", quantity=1
    )
    alert = {
        "stocks": "INFY,TCS",
        "trigger_prices": "1520.5,3900.1",
        "triggered_at": uuid.uuid4().hex,
        "scan_name": "Breakout",
        "scan_url": "breakout",
        "alert_name": "Alert for Breakout",
    }
    with httpx.Client(base_url=service.url, timeout=15) as tool:
        placed = tool.post(token["url"], json=alert)
        bad = tool.post(token["url"], json={**alert, "stocks": "IN FY,TCS"})

    assert placed.status_code == 201, placed.text
    orders = placed.json()["orders"]
    assert [o["tradingsymbol"] for o in orders] == ["INFY", "TCS"]
    for order in orders:
        _filled(api, order["order_id"])
    assert error_body(bad, 422, "INVALID_INPUT")["details"]["field"] == "stocks"
