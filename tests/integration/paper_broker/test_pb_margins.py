"""Order margins, basket margins and the virtual contract note through the SDK's JSON calls."""

from __future__ import annotations

from typing import Any

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

MARGIN_FIELDS = {
    "type", "tradingsymbol", "exchange", "span", "exposure", "option_premium", "additional",
    "bo", "cash", "var", "pnl", "leverage", "charges", "total",
}  # fmt: skip
CHARGE_FIELDS = {
    "transaction_tax", "transaction_tax_type", "exchange_turnover_charge",
    "sebi_turnover_charge", "brokerage", "stamp_duty", "gst", "total",
}  # fmt: skip


def stock(side: str = "BUY", quantity: int = 10, product: str = "CNC") -> dict[str, Any]:
    return {
        "exchange": "NSE", "tradingsymbol": "INFY", "transaction_type": side,
        "variety": "regular", "product": product, "order_type": "LIMIT", "quantity": quantity,
        "price": 1500, "trigger_price": 0,
    }  # fmt: skip


def future(kite: KiteConnect, side: str) -> dict[str, Any]:
    symbol = next(
        row["tradingsymbol"]
        for row in kite.instruments("NFO")
        if row["instrument_type"] == "FUT" and row["name"] == "NIFTY"
    )
    return {**stock(side, 75, "NRML"), "exchange": "NFO", "tradingsymbol": symbol, "price": 0}


def test_order_margins_are_kite_margin_objects(kite: KiteConnect) -> None:
    (margin,) = kite.order_margins([stock()])

    assert set(margin) == MARGIN_FIELDS
    assert set(margin["charges"]) == CHARGE_FIELDS
    assert set(margin["charges"]["gst"]) == {"igst", "cgst", "sgst", "total"}
    assert margin["var"] == margin["total"] == 15000
    assert margin["charges"]["transaction_tax_type"] == "stt"
    assert margin["charges"]["stamp_duty"] == pytest.approx(2.25)
    assert isinstance(margin["leverage"], int)


def test_a_hedged_basket_needs_less_in_the_end(kite: KiteConnect) -> None:
    basket = kite.basket_order_margins([future(kite, "SELL"), future(kite, "BUY")])

    assert set(basket) == {"initial", "final", "orders", "charges"}
    assert set(basket["initial"]) == MARGIN_FIELDS
    assert len(basket["orders"]) == 2
    assert basket["final"]["total"] < basket["initial"]["total"]
    assert basket["initial"]["total"] == pytest.approx(
        sum(order["total"] for order in basket["orders"])
    )


def test_python_booleans_and_compact_mode(kite: KiteConnect) -> None:
    short = future(kite, "SELL")
    kite.place_order(
        variety="regular", exchange="NFO", tradingsymbol=short["tradingsymbol"],
        transaction_type="SELL", quantity=75, product="NRML", order_type="MARKET",
        market_protection=-1,
    )  # fmt: skip
    hedge = [future(kite, "BUY")]

    with_positions = kite.basket_order_margins(hedge, consider_positions=True)
    without = kite.basket_order_margins(hedge, consider_positions=False)
    compact = kite.basket_order_margins(hedge, mode="compact")

    assert with_positions["final"]["span"] == 0
    assert without["final"]["span"] > 0
    assert set(compact["orders"][0]) == {"type", "tradingsymbol", "exchange", "total"}


def test_the_virtual_contract_note(kite: KiteConnect) -> None:
    note = {**stock("SELL", 10), "order_id": "1", "average_price": 1500}
    del note["price"]

    (entry,) = kite.get_virtual_contract_note([note])

    assert set(entry) == {
        "transaction_type", "tradingsymbol", "exchange", "variety", "product", "order_type",
        "quantity", "price", "charges",
    }  # fmt: skip
    charges = entry["charges"]
    assert entry["price"] == 1500
    assert charges["transaction_tax"] == pytest.approx(15.0)
    assert charges["stamp_duty"] == 0
    assert charges["total"] == pytest.approx(
        charges["transaction_tax"] + charges["exchange_turnover_charge"]
        + charges["sebi_turnover_charge"] + charges["brokerage"] + charges["gst"]["total"]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([], "Send a JSON array of orders."),
        ([{**stock(), "tradingsymbol": "NOPE"}], "Invalid `tradingsymbol`."),
        ([{**stock(), "quantity": "ten"}], "Invalid `quantity`."),
        ([{**stock(), "price": -1}], "Invalid `price`."),
        ([{**stock(), "product": "XX"}], "Invalid `product`."),
    ],
)
def test_bad_baskets_are_input_exceptions(
    kite: KiteConnect, orders: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InputException, match=message) as raised:
        kite.order_margins(orders)

    assert raised.value.code == 400
