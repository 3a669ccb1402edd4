"""Bad order input is refused with Kite's InputException (HTTP 400) and leaves no order."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

VALID: dict[str, Any] = {
    "variety": "regular",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "LIMIT",
    "price": 1500,
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tradingsymbol": "NOSUCHSTOCK"}, "Invalid `tradingsymbol`."),
        ({"exchange": "XYZ"}, "Invalid `exchange`."),
        ({"tag": "has space"}, "`tag` should be max 8 characters"),
        ({"tag": "a" * 21}, "`tag` should be max 8 characters"),
        ({"order_type": "MARKET", "price": None}, "market protection"),
        ({"order_type": "MARKET", "market_protection": 0}, "market protection"),
        ({"order_type": "SL-M", "trigger_price": 900}, "market protection"),
        ({"order_type": "MARKET", "market_protection": 101}, "Invalid `market_protection`."),
        ({"price": 1000.03}, "Tick size for this script is 0.05"),
        ({"quantity": 0}, "Invalid `quantity`."),
        ({"quantity": -5}, "Invalid `quantity`."),
        ({"transaction_type": "HOLD"}, "Invalid `transaction_type`."),
        ({"order_type": "STOP"}, "Invalid `order_type`."),
        ({"product": "NRML"}, "Invalid `product`."),
        ({"product": "BO"}, "Invalid `product`."),
        ({"validity": "GTC"}, "Invalid `validity`."),
        ({"validity": "TTL"}, "Invalid `validity_ttl`."),
        ({"price": None}, "Invalid `price`."),
        ({"order_type": "SL", "price": 1000}, "Invalid `trigger_price`."),
        ({"order_type": "SL", "trigger_price": 1501}, "Trigger price for stoploss buy"),
        ({"disclosed_quantity": 2}, "Invalid `disclosed_quantity`."),
        ({"variety": "bo"}, "Invalid `variety`."),
        ({"variety": "iceberg"}, "Invalid `iceberg_legs`."),
        ({"variety": "auction"}, "Invalid `auction_number`."),
        ({"variety": "co", "trigger_price": None}, "Invalid `trigger_price`."),
    ],
)
def test_bad_orders_are_input_exceptions(
    kite: KiteConnect, changes: dict[str, Any], message: str
) -> None:
    order = {key: value for key, value in {**VALID, **changes}.items() if value is not None}

    with pytest.raises(InputException, match=re.escape(message)) as raised:
        kite.place_order(**order)

    assert raised.value.code == 400
    assert kite.orders() == []


def test_derivatives_must_trade_in_whole_lots(kite: KiteConnect) -> None:
    future = next(row for row in kite.instruments("NFO") if row["instrument_type"] == "FUT")
    order = {**VALID, "exchange": "NFO", "tradingsymbol": future["tradingsymbol"]}
    order.update(quantity=future["lot_size"] + 1, product="NRML", price=25000)

    with pytest.raises(InputException, match="multiple of the lot size") as raised:
        kite.place_order(**order)

    assert raised.value.code == 400


def test_quantities_above_the_freeze_limit_need_autoslice(kite: KiteConnect) -> None:
    future = next(row for row in kite.instruments("NFO") if row["name"] == "BANKNIFTY")
    order = {**VALID, "exchange": "NFO", "tradingsymbol": future["tradingsymbol"]}
    order.update(quantity=35 * 18, product="MIS", price=100)

    with pytest.raises(InputException, match="freeze limit of 600"):
        kite.place_order(**order)


def test_indices_cannot_be_traded(kite: KiteConnect) -> None:
    with pytest.raises(InputException, match="tradingsymbol"):
        kite.place_order(**{**VALID, "tradingsymbol": "NIFTY 50"})


def test_modify_validates_the_new_terms(kite: KiteConnect) -> None:
    order_id = kite.place_order(**VALID)

    with pytest.raises(InputException, match="Tick size"):
        kite.modify_order("regular", order_id, price=1500.01)
    with pytest.raises(InputException, match="market protection"):
        kite.modify_order("regular", order_id, order_type="MARKET")

    assert kite.order_history(order_id)[-1]["price"] == 1500


def test_garbage_in_numeric_fields_is_never_a_server_error(kite: KiteConnect) -> None:
    url = f"{kite.root}/orders/regular"
    headers = {"Authorization": f"token paper:{kite.access_token}"}
    fields = ("quantity", "price", "trigger_price", "market_protection", "disclosed_quantity")
    for field in fields:
        for garbage in ("NaN-ish", "1e999999", "1E+30", "9" * 40, "inf", "sNaN"):
            body = {**VALID, "order_type": "SL", "trigger_price": 1500, field: garbage}
            reply = requests.post(url, data=body, headers=headers, timeout=5)
            assert reply.status_code == 400, (field, garbage)
            assert reply.json()["error_type"] == "InputException"
            assert reply.json()["message"] == f"Invalid `{field}`."
