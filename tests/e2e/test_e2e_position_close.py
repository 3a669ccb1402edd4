"""Closing positions over HTTP, against the paper broker through the real SDK: the position
closed at the broker with one protected MARKET order of its strategy, the rest left as they
are, and a repeat with the same key answered without a second order."""

from __future__ import annotations

import httpx

from tests.e2e.harness import ServiceThread, error_body, wait_for
from tests.e2e.test_e2e_books import kite_of, trade_day
from tests.e2e.test_e2e_flatten import long_and_short, net_positions, order_status

PATH = "/api/v1/positions/close"


def test_a_position_is_closed_at_the_broker_once_for_one_key(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = long_and_short(api, admin)
    kite = kite_of(service, paper, account)
    trade_day(api, account, 2)  # our books hold both fills
    scope = {"account_id": account, "exchange": "NSE", "tradingsymbol": "INFY"}
    keyed = {"Idempotency-Key": f"close-{account}"}

    closed = api.post(PATH, json=scope, headers=keyed)

    assert closed.status_code == 200, closed.text
    (close,) = closed.json()["closes"]
    assert (close["outcome"], close["net_quantity"]) == ("placed", 10)
    order_id = close["order"]["order_id"]
    assert wait_for(lambda: order_status(api, order_id) == "COMPLETE")
    net = net_positions(kite)
    assert (net[("INFY", "MIS")], net[("SBIN", "MIS")]) == (0, -5)
    sells = [
        o for o in kite.orders() if o["tradingsymbol"] == "INFY" and o["transaction_type"] == "SELL"
    ]
    assert [(o["quantity"], o["order_type"], o["product"]) for o in sells] == [
        (10, "MARKET", "MIS")
    ]

    again = api.post(PATH, json=scope, headers=keyed)

    assert again.status_code == 200, again.text
    (repeat,) = again.json()["closes"]
    assert (repeat["outcome"], repeat["order"]["order_id"]) == ("repeated", order_id)
    assert len([o for o in kite.orders() if o["transaction_type"] == "SELL"]) == 2  # no third
    trade_day(api, account, 3)  # the close's fill in our books too: the position is flat
    error_body(api.post(PATH, json=scope), 404, "NOT_FOUND")  # nothing left to close
