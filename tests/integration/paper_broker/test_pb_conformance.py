"""Conformance with the unmodified SDK: field types, every error_type, the KITE.md 3.5 matrix."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from kiteconnect import KiteConnect, exceptions

if TYPE_CHECKING:
    from conftest import Paper

NUMBER = (int, float)
TEXT = (str,)
OPTIONAL_TEXT = (str, type(None))
# KITE.md section 5, as the SDK hands them over (19-character timestamps become datetimes).
ORDER_TYPES: dict[str, tuple[type, ...]] = {
    "order_id": TEXT, "exchange_order_id": OPTIONAL_TEXT, "parent_order_id": OPTIONAL_TEXT,
    "placed_by": TEXT, "account_id": TEXT, "guid": TEXT, "status": TEXT,
    "status_message": OPTIONAL_TEXT, "status_message_raw": OPTIONAL_TEXT, "modified": (bool,),
    "order_timestamp": (datetime,), "exchange_timestamp": (datetime, type(None)),
    "exchange_update_timestamp": OPTIONAL_TEXT, "variety": TEXT, "exchange": TEXT,
    "tradingsymbol": TEXT, "instrument_token": (int,), "order_type": TEXT,
    "transaction_type": TEXT, "validity": TEXT, "validity_ttl": (int,), "product": TEXT,
    "quantity": (int,), "disclosed_quantity": (int,), "price": NUMBER,
    "trigger_price": NUMBER, "average_price": NUMBER, "filled_quantity": (int,),
    "pending_quantity": (int,), "cancelled_quantity": (int,), "market_protection": NUMBER,
    "meta": (dict,), "tag": OPTIONAL_TEXT, "tags": (list,), "auction_number": OPTIONAL_TEXT,
}  # fmt: skip
TRADE_TYPES: dict[str, tuple[type, ...]] = {
    "trade_id": TEXT, "order_id": TEXT, "exchange_order_id": TEXT, "exchange": TEXT,
    "tradingsymbol": TEXT, "instrument_token": (int,), "product": TEXT,
    "average_price": NUMBER, "quantity": (int,), "transaction_type": TEXT,
    "fill_timestamp": (datetime,), "exchange_timestamp": (datetime,), "order_timestamp": TEXT,
}  # fmt: skip
POSITION_INTS = (
    "instrument_token", "quantity", "overnight_quantity", "multiplier", "buy_quantity",
    "sell_quantity", "day_buy_quantity", "day_sell_quantity",
)  # fmt: skip
QUOTE_TYPES: dict[str, tuple[type, ...]] = {
    "instrument_token": (int,), "timestamp": (datetime,), "last_trade_time": (datetime,),
    "last_price": NUMBER, "last_quantity": (int,), "buy_quantity": (int,),
    "sell_quantity": (int,), "volume": (int,), "average_price": NUMBER, "oi": NUMBER,
    "net_change": NUMBER, "lower_circuit_limit": NUMBER, "upper_circuit_limit": NUMBER,
    "ohlc": (dict,), "depth": (dict,),
}  # fmt: skip


def typed(row: dict[str, Any], types: dict[str, tuple[type, ...]]) -> None:
    for name, kinds in types.items():
        assert isinstance(row[name], kinds), (name, row[name])
    assert not any(isinstance(row[name], bool) for name in types if bool not in types[name])


def test_orders_and_trades_are_typed_as_kite_sends_them(paper: Paper, kite: KiteConnect) -> None:
    filled = paper.place_market(kite, quantity=2, tag="types")
    paper.place_limit(kite, paper.on_tick(paper.ltp(kite) * 0.95))

    for order in kite.orders():
        typed(order, ORDER_TYPES)
    for entry in kite.order_history(filled):
        typed(entry, ORDER_TYPES)
    (trade,) = kite.trades()
    typed(trade, TRADE_TYPES)
    assert len(trade["order_timestamp"]) == 8


def test_books_quotes_and_funds_are_typed(paper: Paper, kite: KiteConnect) -> None:
    paper.place_market(kite, quantity=2)

    (position,) = kite.positions()["net"]
    assert all(isinstance(position[name], int) for name in POSITION_INTS)
    assert all(isinstance(position[name], NUMBER) for name in ("pnl", "m2m", "value"))
    quote = kite.quote("NSE:INFY")["NSE:INFY"]
    typed(quote, QUOTE_TYPES)
    assert all(isinstance(level["quantity"], int) for level in quote["depth"]["buy"])
    equity = kite.margins("equity")
    assert isinstance(equity["enabled"], bool)
    assert isinstance(equity["available"]["cash"], NUMBER)
    assert isinstance(kite.profile()["exchanges"], list)


KINDS = [
    ("TokenException", 403, exceptions.TokenException),
    ("PermissionException", 403, exceptions.PermissionException),
    ("UserException", 403, exceptions.GeneralException),
    ("TwoFAException", 403, exceptions.GeneralException),
    ("InputException", 400, exceptions.InputException),
    ("OrderException", 400, exceptions.OrderException),
    ("MarginException", 400, exceptions.GeneralException),
    ("HoldingException", 400, exceptions.GeneralException),
    ("NetworkException", 503, exceptions.NetworkException),
    ("DataException", 502, exceptions.DataException),
    ("GeneralException", 500, exceptions.GeneralException),
    ("NoSuchException", 500, exceptions.GeneralException),
]


@pytest.mark.parametrize(("error_type", "status", "raised"), KINDS)
def test_every_error_type_becomes_the_sdk_exception_kite_gives(
    paper: Paper, kite: KiteConnect, error_type: str, status: int, raised: type[Exception]
) -> None:
    calls: list[None] = []
    kite.set_session_expiry_hook(lambda: calls.append(None))
    paper.fault(route="orders", kind="error", error_type=error_type, message="boom", count=1)

    with pytest.raises(raised, match="boom") as caught:
        kite.orders()

    assert type(caught.value) is raised
    assert caught.value.code == status  # type: ignore[attr-defined]
    assert len(calls) == (1 if error_type == "TokenException" else 0)


def test_a_token_exception_with_http_200_does_not_fire_the_hook(
    paper: Paper, kite: KiteConnect
) -> None:
    calls: list[None] = []
    kite.set_session_expiry_hook(lambda: calls.append(None))
    paper.fault(route="orders", kind="error", error_type="TokenException", status=200, count=1)

    with pytest.raises(exceptions.TokenException) as caught:
        kite.orders()

    assert caught.value.code == 200
    assert calls == []


def test_the_broker_raises_each_error_for_real(paper: Paper, kite: KiteConnect) -> None:
    """Each error_type as the paper broker produces it without injected faults."""
    cases = [
        (lambda: kite.order_history("nope"), exceptions.InputException, 400, "order_id"),
        (lambda: paper.place_market(kite, side="SELL"), exceptions.GeneralException, 400,
         "Insufficient holdings"),
        (lambda: paper.place_market(kite, quantity=10**6), exceptions.GeneralException, 400,
         "Insufficient funds"),
        (lambda: kite.cancel_order("regular", paper.place_market(kite)),
         exceptions.OrderException, 400, "completed"),
        (lambda: KiteConnect("paper", "bad", root=paper.url).orders(),
         exceptions.TokenException, 403, "access_token"),
    ]  # fmt: skip
    for call, raised, status, text in cases:
        with pytest.raises(raised, match=text) as caught:
            call()
        assert (type(caught.value), caught.value.code) == (raised, status)


def test_malformed_replies_fail_as_the_matrix_says(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="profile", kind="empty_json", count=1)
    with pytest.raises(exceptions.DataException, match="Couldn't parse") as caught:
        kite.profile()
    assert caught.value.code == 502

    paper.fault(route="profile", kind="no_content_type", count=1)
    with pytest.raises(KeyError, match="content-type"):
        kite.profile()

    assert kite.profile()["user_id"] == "PAPER1"


def test_a_closed_port_is_a_connection_error() -> None:
    kite = KiteConnect("paper", "token", root="http://127.0.0.1:9")

    with pytest.raises(requests.exceptions.ConnectionError):
        kite.orders()


def test_every_error_reply_has_a_content_type_and_the_envelope(kite: KiteConnect) -> None:
    headers = {"Authorization": f"token paper:{kite.access_token}"}
    for method, path in [("GET", "/alerts"), ("PATCH", "/orders"), ("GET", "/orders/x")]:
        reply = requests.request(method, f"{kite.root}{path}", headers=headers, timeout=5)
        assert reply.status_code >= 400
        assert reply.headers["content-type"] == "application/json"
        body = reply.json()
        assert set(body) == {"status", "message", "data", "error_type"}
        assert body["data"] is None
