"""The kill switch's flatten over HTTP, against the paper broker through the real SDK: the
scope's working orders are cancelled at the broker and its MIS positions squared off with
protected MARKET orders (the halt lets them through, nothing else), CNC left as it is."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import (
    ServiceThread,
    add_paper_account,
    error_body,
    inject_fault,
    wait_for,
)
from tests.e2e.test_e2e_books import kite_of, place, trade_day

PATH = "/api/v1/kill-switch"


def _resting(api: httpx.Client, account: str) -> dict[str, Any]:
    order = {"account_id": account, "exchange": "NSE", "tradingsymbol": "INFY",
             "transaction_type": "BUY", "quantity": 1, "product": "MIS",
             "order_type": "LIMIT", "price": "1450.00"}  # fmt: skip
    placed = api.post("/api/v1/orders", json=order)
    assert placed.status_code == 201, placed.text
    assert wait_for(lambda: _status(api, placed.json()["order_id"]) == "OPEN")
    return dict(placed.json())


def _status(api: httpx.Client, order_id: str) -> str:
    return str(api.get(f"/api/v1/orders/{order_id}").json()["status"])


def _net(kite: Any) -> dict[tuple[str, str], int]:
    return {(p["tradingsymbol"], p["product"]): p["quantity"] for p in kite.positions()["net"]}


def _release(api: httpx.Client, account: str) -> None:
    api.request("DELETE", PATH, json={"account_id": account}).raise_for_status()


def test_flatten_cancels_working_orders_and_squares_off_mis_positions_only(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00", "NSE:SBIN": "800.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=10, product="MIS")  # fmt: skip
    place(api, account, exchange="NSE", tradingsymbol="SBIN", transaction_type="SELL",
          quantity=5, product="MIS")  # fmt: skip
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=3, product="CNC")  # fmt: skip
    trade_day(api, account, 3)  # our books hold the three fills
    resting = _resting(api, account)

    engaged = api.post(PATH, json={"account_id": account, "flatten": True})

    assert engaged.status_code == 201, engaged.text
    flattened = engaged.json()["flattened"]
    assert [(c["order_id"], c["cancelled"]) for c in flattened["cancels"]] == [
        (resting["order_id"], True)
    ]
    closes = {s["tradingsymbol"]: s for s in flattened["square_offs"]}
    assert {k: v["net_quantity"] for k, v in closes.items()} == {"INFY": 10, "SBIN": -5}
    assert all(s["order_id"] and s["error_code"] is None for s in closes.values())
    for close in closes.values():
        assert wait_for(lambda close=close: _status(api, close["order_id"]) == "COMPLETE")
        order = api.get(f"/api/v1/orders/{close['order_id']}").json()
        assert (order["product"], order["order_type"]) == ("MIS", "MARKET")
        assert order["market_protection"] == "-1"
        assert order["strategy_id"] == resting["strategy_id"]
    assert [o["status"] for o in kite.orders() if o["order_id"] == resting["broker_order_id"]] == [
        "CANCELLED"
    ]
    net = _net(kite)
    assert (net[("INFY", "MIS")], net[("SBIN", "MIS")], net[("INFY", "CNC")]) == (0, 0, 3)
    refused = api.post("/api/v1/orders", json={**_order(account), "product": "MIS"})
    error_body(refused, 403, "TRADING_HALTED")  # the halt's own orders passed, no other does
    _release(api, account)


def _order(account: str) -> dict[str, Any]:
    return {"account_id": account, "exchange": "NSE", "tradingsymbol": "INFY",
            "transaction_type": "BUY", "quantity": 1, "product": "CNC",
            "order_type": "MARKET"}  # fmt: skip


def test_a_cancel_that_fails_is_reported_and_the_rest_goes_on(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=2, product="MIS")  # fmt: skip
    trade_day(api, account, 1)
    resting = _resting(api, account)
    inject_fault(admin, "cancel_order", "error", error_type="OrderException", status=400,
                 message="This order cannot be cancelled.")  # fmt: skip

    engaged = api.post(PATH, json={"account_id": account, "flatten": True})

    assert engaged.status_code == 201, engaged.text
    flattened = engaged.json()["flattened"]
    (cancel,) = flattened["cancels"]
    assert (cancel["order_id"], cancel["cancelled"]) == (resting["order_id"], False)
    assert cancel["error_code"] == "ORDER_REJECTED"
    (close,) = flattened["square_offs"]
    assert close["net_quantity"] == 2
    assert wait_for(lambda: _status(api, close["order_id"]) == "COMPLETE")
    assert _net(kite)[("INFY", "MIS")] == 0
    _release(api, account)
