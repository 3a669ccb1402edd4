"""Autoslice over HTTP: an order over the freeze quantity goes to the paper broker with Kite's
autoslice, which places one order per slice, and each slice is an order in our books."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import ServiceThread, add_paper_account, error_body
from tests.e2e.test_e2e_books import kite_of, nfo_symbols

NIFTY_FREEZE, NIFTY_LOT = 1800, 75
MARGIN = "100000000"  # enough for 3,675 NIFTY futures


def _future_order(account: str, symbol: str, quantity: int, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": account,
        "exchange": "NFO",
        "tradingsymbol": symbol,
        "transaction_type": "BUY",
        "quantity": quantity,
        "product": "NRML",
        "order_type": "MARKET",
        **extra,
    }


def test_an_autoslice_order_over_the_freeze_quantity_is_placed_in_slices_of_whole_lots(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin, funds=MARGIN)
    kite = kite_of(service, paper, account)
    future, _ = nfo_symbols(kite)
    quantity = 2 * NIFTY_FREEZE + NIFTY_LOT

    refused = api.post("/api/v1/orders", json=_future_order(account, future, quantity))
    assert error_body(refused, 422, "RISK_REJECTED")["details"]["rule"] == "freeze_quantity"
    assert kite.orders() == []  # nothing was sent

    placed = api.post(
        "/api/v1/orders", json=_future_order(account, future, quantity, autoslice=True)
    )

    assert placed.status_code == 201, placed.text
    slices = placed.json()["slices"]
    assert [s["quantity"] for s in slices] == [NIFTY_FREEZE, NIFTY_FREEZE, NIFTY_LOT]
    assert slices[0]["order_id"] == placed.json()["order_id"]
    assert placed.json()["quantity"] == NIFTY_FREEZE
    broker_ids = [s["broker_order_id"] for s in slices]
    at_broker = {o["order_id"]: o for o in kite.orders()}
    assert sorted(at_broker) == sorted(broker_ids)
    for one in slices:
        row = at_broker[one["broker_order_id"]]
        assert row["quantity"] == one["quantity"]
        assert row["quantity"] % NIFTY_LOT == 0
        assert "autoslice" in row["tags"]
        stored = api.get(f"/api/v1/orders/{one['order_id']}").json()
        assert (stored["broker_order_id"], stored["quantity"]) == (row["order_id"], row["quantity"])
        assert stored["strategy_id"] == placed.json()["strategy_id"]


def test_an_autoslice_order_beyond_ten_slices_is_refused_unsent(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    future, _ = nfo_symbols(kite)
    order = _future_order(account, future, 10 * NIFTY_FREEZE + NIFTY_LOT, autoslice=True)

    error = error_body(api.post("/api/v1/orders", json=order), 422, "RISK_REJECTED")

    assert error["details"]["rule"] == "freeze_quantity"
    assert error["details"]["limit"] == 10 * NIFTY_FREEZE
    assert kite.orders() == []
