"""The market's realism through the SDK: partial fills, circuit bands, icebergs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiteconnect import KiteConnect

if TYPE_CHECKING:
    from conftest import Paper


def place(kite: KiteConnect, quantity: int, variety: str = "regular", **extra: Any) -> str:
    terms = {"order_type": "MARKET", "market_protection": -1, "product": "MIS", **extra}
    order_id: str = kite.place_order(
        variety=variety, exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=quantity, **terms,
    )  # fmt: skip
    return order_id


def test_a_big_order_fills_in_several_trades_over_seconds(paper: Paper, kite: KiteConnect) -> None:
    order_id = place(kite, 2000)

    first = kite.order_history(order_id)[-1]
    assert first["status"] == "OPEN"
    assert 0 < first["filled_quantity"] < 2000
    assert first["pending_quantity"] == 2000 - first["filled_quantity"]

    paper.advance(6)

    history = kite.order_history(order_id)
    trades = kite.order_trades(order_id)
    assert history[-1]["status"] == "COMPLETE"
    assert len(trades) >= 3
    assert sum(trade["quantity"] for trade in trades) == 2000
    fills = [entry["filled_quantity"] for entry in history if entry["status"] == "OPEN"]
    assert fills == sorted(fills)
    assert len({trade["fill_timestamp"] for trade in trades}) == len(trades)


def test_an_order_outside_the_circuit_band_is_rejected_by_the_rms(
    paper: Paper, kite: KiteConnect
) -> None:
    quote = kite.quote("NSE:INFY")["NSE:INFY"]
    upper = quote["upper_circuit_limit"]
    assert quote["lower_circuit_limit"] < quote["last_price"] < upper

    order_id = paper.place_limit(kite, paper.on_tick(upper + 1))

    (order,) = kite.orders()
    assert order["order_id"] == order_id
    assert order["status"] == "REJECTED"
    assert order["status_message"] == (
        f"Your order price is higher than the current upper circuit limit of {upper:.2f}. "
        "Place an order within the daily range."
    )
    assert order["status_message_raw"].startswith("RMS:")
    assert order["exchange_order_id"] is None


def test_prices_never_leave_the_band(paper: Paper, kite: KiteConnect) -> None:
    quote = kite.quote("NSE:SBIN")["NSE:SBIN"]

    moved = paper.set_prices({"NSE:SBIN": "5000"})

    assert moved == {"NSE:SBIN": quote["upper_circuit_limit"]}
    assert paper.ltp(kite, "NSE:SBIN") == quote["upper_circuit_limit"]


def test_an_iceberg_shows_its_leg_quantity(paper: Paper, kite: KiteConnect) -> None:
    price = paper.on_tick(paper.ltp(kite) * 0.95)

    order_id = place(
        kite, 900, "iceberg", order_type="LIMIT", price=price, iceberg_legs=3,
        iceberg_quantity=300, validity="TTL", validity_ttl=5,
    )  # fmt: skip

    (order,) = kite.orders()
    assert order["order_id"] == order_id
    assert order["quantity"] == 300
    assert order["meta"] == {
        "iceberg": {
            "leg": 1, "legs": 3, "leg_quantity": 300, "total_quantity": 900,
            "remaining_quantity": 600,
        }
    }  # fmt: skip
    kite.modify_order("iceberg", order_id, order_type="MARKET", market_protection=-1)
    paper.advance(3)
    legs = [row for row in kite.orders() if row["variety"] == "iceberg"]
    assert [row["meta"]["iceberg"]["leg"] for row in legs] == [1, 2, 3]
    assert [(row["quantity"], row["status"]) for row in legs] == [(300, "COMPLETE")] * 3
    assert kite.positions()["net"][0]["quantity"] == 900
