"""Postbacks to a real HTTP receiver: statuses, the checksum, retries, and a dead receiver."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from kiteconnect import KiteConnect

from tests.integration.paper_broker.conftest import Paper, start_server

if TYPE_CHECKING:
    from conftest import Receiver

TYPES = {
    "user_id": str, "unfilled_quantity": int, "app_id": int, "checksum": str, "placed_by": str,
    "order_id": str, "exchange_order_id": str, "status": str, "order_timestamp": str,
    "exchange_update_timestamp": str, "exchange_timestamp": str, "variety": str,
    "exchange": str, "tradingsymbol": str, "instrument_token": int, "order_type": str,
    "transaction_type": str, "validity": str, "product": str, "quantity": int,
    "disclosed_quantity": int, "filled_quantity": int, "pending_quantity": int,
    "cancelled_quantity": int, "meta": dict, "guid": str,
}  # fmt: skip
NUMBERS = ("price", "trigger_price", "average_price", "market_protection")


def signed(payload: dict[str, Any], secret: str = "paper-secret") -> bool:
    text = payload["order_id"] + payload["order_timestamp"] + secret
    return payload["checksum"] == hashlib.sha256(text.encode()).hexdigest()


def place_mis(kite: KiteConnect, quantity: int, **extra: Any) -> str:
    terms = {"order_type": "MARKET", "market_protection": -1, **extra}
    order_id: str = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=quantity, product="MIS", **terms,
    )  # fmt: skip
    return order_id


def test_a_fill_is_posted_with_kites_fields_and_checksum(
    paper: Paper, kite: KiteConnect, receiver: Receiver
) -> None:
    paper.set_postback(receiver.url)

    order_id = paper.place_market(kite, tag="pb1")

    (payload,) = receiver.payloads(1)
    assert payload["status"] == "COMPLETE"
    assert payload["order_id"] == order_id
    assert payload["tag"] == "pb1"
    assert signed(payload)
    for name, kind in TYPES.items():
        assert isinstance(payload[name], kind), name
    for name in NUMBERS:
        assert isinstance(payload[name], int | float), name
    assert len(payload["order_timestamp"]) == 19


def test_modify_cancel_and_rejection_are_posted(
    paper: Paper, kite: KiteConnect, receiver: Receiver
) -> None:
    paper.set_postback(receiver.url)
    below = paper.on_tick(paper.ltp(kite) * 0.95)
    resting = paper.place_limit(kite, below)

    kite.modify_order("regular", resting, price=paper.on_tick(below - 1))
    kite.cancel_order("regular", resting)
    rejected = paper.place_limit(kite, paper.on_tick(paper.ltp(kite) * 1.2))

    payloads = receiver.payloads(3)
    assert [(p["order_id"], p["status"]) for p in payloads] == [
        (resting, "UPDATE"),
        (resting, "CANCELLED"),
        (rejected, "REJECTED"),
    ]
    assert "upper circuit limit" in payloads[2]["status_message"]
    assert all(signed(payload) for payload in payloads)


def test_partial_fills_are_updates_then_complete(
    paper: Paper, kite: KiteConnect, receiver: Receiver
) -> None:
    paper.set_postback(receiver.url)

    order_id = place_mis(kite, 1500)
    paper.advance(5)

    trades = kite.order_trades(order_id)
    payloads = receiver.payloads(len(trades))
    assert [p["status"] for p in payloads] == ["UPDATE"] * (len(trades) - 1) + ["COMPLETE"]
    filled = [p["filled_quantity"] for p in payloads]
    assert filled == sorted(filled)
    assert filled[-1] == 1500
    assert payloads[0]["unfilled_quantity"] == 1500 - filled[0] > 0


def test_a_failing_receiver_gets_the_postback_on_a_retry(
    paper: Paper, kite: KiteConnect, receiver: Receiver
) -> None:
    paper.set_postback(receiver.url)
    receiver.failures = 2

    paper.place_market(kite)

    (payload,) = receiver.payloads(1)
    assert payload["status"] == "COMPLETE"
    assert receiver.calls == 3
    counts = paper.state()["postbacks"]
    assert (counts["delivered"], counts["retried"], counts["failed"]) == (1, 2, 0)


def test_a_dead_receiver_never_slows_or_breaks_the_broker(paper: Paper, kite: KiteConnect) -> None:
    paper.set_postback("http://127.0.0.1:9/nobody-listens")

    started = time.monotonic()
    for _ in range(5):
        paper.place_market(kite)
    assert time.monotonic() - started < 1.0

    deadline = time.monotonic() + 5
    while paper.state()["postbacks"]["failed"] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = paper.state()["postbacks"]
    assert (counts["queued"], counts["failed"], counts["delivered"]) == (5, 5, 0)
    assert counts["retried"] == 5 * 3
    assert len(kite.orders()) == 5


def test_no_postback_url_means_no_postbacks(paper: Paper, kite: KiteConnect) -> None:
    paper.place_market(kite)

    assert paper.state()["postbacks"]["queued"] == 0
    assert paper.state()["users"][0]["postback_url"] is None


def test_the_configured_url_serves_the_default_user(receiver: Receiver) -> None:
    server = start_server(postback_url=receiver.url)
    try:
        paper = Paper(server.url)
        kite = paper.login()
        order_id = paper.place_market(kite)
        (payload,) = receiver.payloads(1)
        assert payload["order_id"] == order_id
    finally:
        server.stop()


def test_each_user_signs_with_its_own_secret(paper: Paper, receiver: Receiver) -> None:
    paper.post(
        "users",
        {"user_id": "PB2", "api_key": "k2", "api_secret": "s2", "postback_url": receiver.url},
    )
    kite = paper.login("k2", "s2")

    paper.place_market(kite)

    (payload,) = receiver.payloads(1)
    assert payload["user_id"] == "PB2"
    assert signed(payload, "s2")
    assert not signed(payload)
