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


def _resting(api: httpx.Client, account: str, **overrides: Any) -> dict[str, Any]:
    order = {"account_id": account, "exchange": "NSE", "tradingsymbol": "INFY",
             "transaction_type": "BUY", "quantity": 1, "product": "MIS",
             "order_type": "LIMIT", "price": "1450.00", **overrides}  # fmt: skip
    placed = api.post("/api/v1/orders", json=order)
    assert placed.status_code == 201, placed.text
    assert wait_for(lambda: order_status(api, placed.json()["order_id"]) == "OPEN")
    return dict(placed.json())


def order_status(api: httpx.Client, order_id: str) -> str:
    return str(api.get(f"/api/v1/orders/{order_id}").json()["status"])


def net_positions(kite: Any) -> dict[tuple[str, str], int]:
    return {(p["tradingsymbol"], p["product"]): p["quantity"] for p in kite.positions()["net"]}


def long_and_short(api: httpx.Client, admin: httpx.Client) -> str:
    """A new paper account long 10 INFY and short 5 SBIN (MIS) at the broker and in our books."""
    admin.post("/prices", json={"NSE:INFY": "1500.00", "NSE:SBIN": "800.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=10, product="MIS")  # fmt: skip
    place(api, account, exchange="NSE", tradingsymbol="SBIN", transaction_type="SELL",
          quantity=5, product="MIS")  # fmt: skip
    return account


def _release(api: httpx.Client, account: str) -> None:
    api.request("DELETE", PATH, json={"account_id": account}).raise_for_status()


def test_flatten_cancels_working_orders_and_squares_off_mis_positions_only(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = long_and_short(api, admin)
    kite = kite_of(service, paper, account)
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
        assert wait_for(lambda close=close: order_status(api, close["order_id"]) == "COMPLETE")
        order = api.get(f"/api/v1/orders/{close['order_id']}").json()
        assert (order["product"], order["order_type"]) == ("MIS", "MARKET")
        assert order["market_protection"] == "-1"
        assert order["strategy_id"] == resting["strategy_id"]
    assert [o["status"] for o in kite.orders() if o["order_id"] == resting["broker_order_id"]] == [
        "CANCELLED"
    ]
    net = net_positions(kite)
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
    assert wait_for(lambda: order_status(api, close["order_id"]) == "COMPLETE")
    assert net_positions(kite)[("INFY", "MIS")] == 0
    _release(api, account)


def _exit_order(api: httpx.Client, account: str) -> dict[str, Any]:
    """A long MIS position of 2 INFY in our books, and a SELL LIMIT above the market resting
    to close it: the order a flatten's square-off could double."""
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=2, product="MIS")  # fmt: skip
    trade_day(api, account, 1)
    return _resting(api, account, transaction_type="SELL", quantity=2, price="1600.00")


def test_an_exit_order_cancelled_at_the_broker_is_confirmed_before_the_close_is_sent(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    exit_order = _exit_order(api, account)

    engaged = api.post(PATH, json={"account_id": account, "flatten": True})

    assert engaged.status_code == 201, engaged.text
    flattened = engaged.json()["flattened"]
    assert [(c["order_id"], c["cancelled"]) for c in flattened["cancels"]] == [
        (exit_order["order_id"], True)
    ]
    assert order_status(api, exit_order["order_id"]) == "CANCELLED"  # read back before the close
    (close,) = flattened["square_offs"]
    assert (close["net_quantity"], close["error_code"]) == (2, None)
    assert wait_for(lambda: order_status(api, close["order_id"]) == "COMPLETE")
    assert net_positions(kite)[("INFY", "MIS")] == 0
    _release(api, account)


def test_an_exit_order_whose_cancel_fails_leaves_its_position_open_and_says_so(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    exit_order = _exit_order(api, account)
    inject_fault(admin, "cancel_order", "error", error_type="OrderException", status=400,
                 message="This order cannot be cancelled.")  # fmt: skip

    engaged = api.post(PATH, json={"account_id": account, "flatten": True})

    assert engaged.status_code == 201, engaged.text
    flattened = engaged.json()["flattened"]
    assert [c["cancelled"] for c in flattened["cancels"]] == [False]
    (close,) = flattened["square_offs"]
    assert (close["order_id"], close["error_code"]) == (None, "CONFLICT")
    assert close["error_details"] == {"order_ids": [exit_order["order_id"]]}
    assert "closing side" in close["error_message"]
    assert (
        net_positions(kite)[("INFY", "MIS")] == 2
    )  # nothing sent that the exit order could double
    sells = [o for o in kite.orders() if o["transaction_type"] == "SELL"]
    assert [o["order_id"] for o in sells] == [exit_order["broker_order_id"]]
    _release(api, account)


def test_a_position_the_broker_holds_otherwise_than_our_books_is_not_closed_blind(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    admin.post("/prices", json={"NSE:INFY": "1500.00"}).raise_for_status()
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    place(api, account, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
          quantity=2, product="MIS")  # fmt: skip
    trade_day(api, account, 1)
    for route in ("trades", "order_trades"):  # the fills of the order below stay unknown to us
        admin.post("/faults", json={"route": route, "kind": "error", "count": 1000,
                                    "error_type": "NetworkException", "status": 503}
                   ).raise_for_status()  # fmt: skip
    try:
        kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=3,
            product="MIS",
            order_type="MARKET",
            market_protection=-1,
        )  # placed outside the service (in the Kite app, say)
        assert wait_for(lambda: net_positions(kite).get(("INFY", "MIS")) == 5)

        engaged = api.post(PATH, json={"account_id": account, "flatten": True})
    finally:
        admin.delete("/faults").raise_for_status()

    assert engaged.status_code == 201, engaged.text
    (close,) = engaged.json()["flattened"]["square_offs"]
    assert (close["net_quantity"], close["order_id"], close["error_code"]) == (2, None, "CONFLICT")
    assert close["error_details"] == {"books_net_quantity": 2, "broker_net_quantity": 5}
    assert net_positions(kite)[("INFY", "MIS")] == 5
    _release(api, account)
