"""Accounts over HTTP: add, log in, show, remove (refused while orders are unsettled), restore."""

from __future__ import annotations

import httpx

from tests.e2e.harness import add_paper_account, inject_fault, wait_for
from tests.e2e.test_e2e_baskets import ORDER


def test_an_account_is_removed_only_when_settled_and_can_come_back(
    api: httpx.Client, admin: httpx.Client
) -> None:
    account = add_paper_account(api, admin)
    shown = api.get(f"/api/v1/accounts/{account}").json()
    assert shown["session_state"] == "active"
    assert "api_secret" not in shown
    assert shown["limits"]["orders_per_second"] == 10
    assert shown["limits"]["modifications_per_order"] == 25
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    body = {**ORDER, "account_id": account, "order_type": "LIMIT", "price": "1450.00"}
    resting = api.post("/api/v1/orders", json=body).json()
    wait_for(lambda: api.get(f"/api/v1/orders/{resting['order_id']}").json()["status"] == "OPEN")

    refused = api.delete(f"/api/v1/accounts/{account}")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["unsettled_orders"] == 1

    assert api.delete(f"/api/v1/orders/{resting['order_id']}").json()["status"] == "CANCELLED"
    assert api.delete(f"/api/v1/accounts/{account}").status_code == 204
    assert api.get(f"/api/v1/accounts/{account}").status_code == 404
    assert account not in {a["account_id"] for a in api.get("/api/v1/accounts").json()}
    gone = api.post("/api/v1/orders", json={**ORDER, "account_id": account})
    assert gone.json()["error"]["code"] == "NOT_FOUND"
    history = api.get(f"/api/v1/orders/{resting['order_id']}")
    assert history.json()["status"] == "CANCELLED"  # the history outlives the account

    again = {"account_id": account, "api_key": f"key{account}", "api_secret": f"secret{account}"}
    restored = api.post("/api/v1/accounts", json=again)
    assert restored.status_code == 201, restored.text
    assert restored.json()["session_state"] == "login_required"
    assert api.get(f"/api/v1/orders/{resting['order_id']}").json()["status"] == "CANCELLED"


def test_margins_come_from_the_broker_as_exact_decimals(
    api: httpx.Client, admin: httpx.Client
) -> None:
    account = add_paper_account(api, admin)
    response = api.get(f"/api/v1/accounts/{account}/margins")
    assert response.status_code == 200, response.text
    segments = {segment["segment"]: segment for segment in response.json()}
    equity = segments["equity"]
    assert equity["enabled"] is True
    assert isinstance(equity["net"], str)
    assert equity["available"]["cash"] == equity["net"]
    inject_fault(admin, "margins", "token_expired")
    expired = api.get(f"/api/v1/accounts/{account}/margins")
    assert expired.status_code == 409
    assert expired.json()["error"]["code"] == "BROKER_SESSION_EXPIRED"
    assert api.get(f"/api/v1/accounts/{account}").json()["session_state"] == "login_required"
    assert api.get("/api/v1/accounts/NOSUCH9/margins").status_code == 404
