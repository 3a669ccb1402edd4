"""Instruments, quotes, profile, margins and envelopes as the SDK parses them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

if TYPE_CHECKING:
    from conftest import Paper

QUOTE_FIELDS = {
    "instrument_token", "timestamp", "last_trade_time", "last_price", "last_quantity",
    "buy_quantity", "sell_quantity", "volume", "average_price", "oi", "oi_day_high",
    "oi_day_low", "net_change", "lower_circuit_limit", "upper_circuit_limit", "ohlc", "depth",
}  # fmt: skip


def test_instruments_csv_parses_with_the_sdk_types(kite: KiteConnect) -> None:
    rows = kite.instruments()

    by_symbol = {row["tradingsymbol"]: row for row in rows}
    infy = by_symbol["INFY"]
    assert infy["instrument_token"] == 408065
    assert isinstance(infy["instrument_token"], int)
    assert infy["exchange_token"] == "1594"
    assert infy["tick_size"] == 0.05
    assert infy["lot_size"] == 1
    assert infy["expiry"] == ""
    assert infy["strike"] == 0.0
    assert (infy["segment"], infy["exchange"], infy["instrument_type"]) == ("NSE", "NSE", "EQ")
    assert {"RELIANCE", "TCS", "SBIN", "HDFCBANK"} <= set(by_symbol)
    assert all(isinstance(row["last_price"], float) for row in rows)


def test_derivatives_cover_two_monthly_expiries_on_tuesdays(kite: KiteConnect) -> None:
    rows = kite.instruments("NFO")

    futures = [row for row in rows if row["instrument_type"] == "FUT"]
    options = [row for row in rows if row["instrument_type"] in {"CE", "PE"}]
    assert sorted(row["name"] for row in futures) == ["BANKNIFTY"] * 2 + ["NIFTY"] * 2
    expiries = {row["expiry"] for row in rows}
    assert len(expiries) == 2
    assert all(isinstance(expiry, date) and expiry.weekday() == 1 for expiry in expiries)
    assert {row["lot_size"] for row in rows if row["name"] == "NIFTY"} == {75}
    assert {row["lot_size"] for row in rows if row["name"] == "BANKNIFTY"} == {35}
    assert {row["segment"] for row in options} == {"NFO-OPT"}
    assert all(row["strike"] > 0 for row in options)
    assert all(row["instrument_token"] & 0xFF == 2 for row in rows)


def test_instruments_come_as_csv(paper: Paper, kite: KiteConnect) -> None:
    reply = requests.get(
        f"{paper.url}/instruments/NSE",
        headers={"Authorization": f"token paper:{kite.access_token}"},
        timeout=5,
    )

    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.text.splitlines()[0] == (
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
        "tick_size,lot_size,instrument_type,segment,exchange"
    )


def test_quote_returns_known_keys_only(kite: KiteConnect) -> None:
    quotes = kite.quote("NSE:INFY", "NSE:TCS", "NSE:NOPE")

    assert set(quotes) == {"NSE:INFY", "NSE:TCS"}
    infy = quotes["NSE:INFY"]
    assert set(infy) == QUOTE_FIELDS
    assert len(infy["depth"]["buy"]) == len(infy["depth"]["sell"]) == 5
    assert set(infy["ohlc"]) == {"open", "high", "low", "close"}
    assert infy["depth"]["buy"][0]["price"] < infy["last_price"] < infy["depth"]["sell"][0]["price"]


def test_ltp_and_ohlc_agree_with_admin_prices(paper: Paper, kite: KiteConnect) -> None:
    paper.set_prices({"NSE:SBIN": "912.35"})

    assert kite.ltp("NSE:SBIN") == {"NSE:SBIN": {"instrument_token": 779521, "last_price": 912.35}}
    ohlc = kite.ohlc(["NSE:SBIN", "BSE:NOPE"])
    assert set(ohlc) == {"NSE:SBIN"}
    assert ohlc["NSE:SBIN"]["ohlc"]["low"] <= 912.35
    paper.set_prices({"NSE:SBIN": "912"})
    whole = kite.ltp("NSE:SBIN")["NSE:SBIN"]["last_price"]
    assert whole == 912
    assert isinstance(whole, int)  # Kite writes whole prices without a fraction
    assert kite.ltp() == {}


@pytest.mark.parametrize(("call", "limit"), [("quote", 500), ("ltp", 1000), ("ohlc", 1000)])
def test_too_many_instruments_is_an_input_error(kite: KiteConnect, call: str, limit: int) -> None:
    keys = [f"NSE:S{number}" for number in range(limit + 1)]

    with pytest.raises(InputException) as raised:
        getattr(kite, call)(keys)

    assert raised.value.code == 400


def test_profile_and_margins(kite: KiteConnect) -> None:
    profile = kite.profile()
    margins = kite.margins()

    assert {
        "user_id", "user_type", "email", "user_name", "user_shortname", "broker", "exchanges",
        "products", "order_types", "avatar_url", "meta",
    } == set(profile)  # fmt: skip
    equity = margins["equity"]
    assert set(margins) == {"equity", "commodity"}
    assert set(equity["available"]) == {
        "adhoc_margin", "cash", "opening_balance", "live_balance", "collateral", "intraday_payin",
    }  # fmt: skip
    assert len(equity["utilised"]) == 12
    assert equity["net"] == equity["available"]["cash"] == 1_000_000
    with pytest.raises(InputException):
        kite.margins("currency")


def test_open_orders_block_margin(paper: Paper, kite: KiteConnect) -> None:
    price = paper.on_tick(paper.ltp(kite) * 0.9)
    paper.place_limit(kite, price, quantity=10)

    equity = kite.margins("equity")

    assert equity["utilised"]["debits"] == pytest.approx(price * 10)
    assert equity["net"] == pytest.approx(1_000_000 - price * 10)


def test_holdings_start_empty(kite: KiteConnect) -> None:
    assert kite.holdings() == []
    assert kite.positions() == {"net": [], "day": []}
    assert kite.orders() == []
    assert kite.trades() == []


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/no/such/route", 404, "Route not found"),
        ("POST", "/orders", 405, "Method not allowed"),
    ],
)
def test_unknown_routes_answer_in_the_error_envelope(
    paper: Paper, method: str, path: str, status: int, message: str
) -> None:
    reply = requests.request(method, f"{paper.url}{path}", timeout=5)

    assert reply.status_code == status
    assert reply.json() == {
        "status": "error",
        "message": message,
        "data": None,
        "error_type": "GeneralException",
    }


def test_admin_state_dumps_everything(paper: Paper, kite: KiteConnect) -> None:
    paper.place_market(kite)
    paper.fault(route="trades", kind="latency", delay_ms=1)

    state = paper.state()

    assert {"clock", "users", "funds", "orders", "trades", "positions", "faults"} <= set(state)
    assert state["orders"][0]["status"] == "COMPLETE"
    assert state["positions"]["PAPER1"][0]["quantity"] == 1
    assert state["faults"][0]["kind"] == "latency"
