"""Money through the client: Decimal in and out, never float; NaN and Infinity refused."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from order_service.client import errors
from order_service.client.decoding import NotANumber, loads, outgoing, to_decimal
from tests.unit.client_fakes import ORDER, Script, limit_order


def test_money_text_and_numbers_become_decimal() -> None:
    body = loads(b'{"price": "1450.05", "average_price": 1450.1, "quantity": 3, "tag": "1.5"}')
    assert body == {
        "price": Decimal("1450.05"),
        "average_price": Decimal("1450.1"),
        "quantity": 3,
        "tag": "1.5",
    }
    assert type(body["average_price"]) is Decimal
    assert type(body["quantity"]) is int


def test_nested_money_becomes_decimal() -> None:
    body = loads(b'{"items": [{"pnl": {"gross": "10.5", "net": "-3.25"}, "m2m": ["1.1"]}]}')
    assert body["items"][0]["pnl"] == {"gross": Decimal("10.5"), "net": Decimal("-3.25")}
    assert body["items"][0]["m2m"] == [Decimal("1.1")]


@pytest.mark.parametrize(
    "text",
    [
        b'{"price": NaN}',
        b'{"price": Infinity}',
        b'{"price": -Infinity}',
        b'{"price": "NaN"}',
        b'{"average_price": "Infinity"}',
        b'{"pnl": "-inf"}',
        b'{"note": NaN}',
    ],
)
def test_a_non_finite_number_is_refused(text: bytes) -> None:
    with pytest.raises(NotANumber):
        loads(text)


def test_an_answer_with_nan_is_an_unexpected_response() -> None:
    script = Script(httpx.Response(200, content=b'{"order_id": "o", "price": NaN}'))
    with pytest.raises(errors.UnexpectedResponse, match="refused a number"):
        script.client().get_order("o")


def test_a_placement_sends_money_as_exact_text() -> None:
    script = Script(httpx.Response(201, json=ORDER))
    placed = limit_order(script.client(), trigger_price=Decimal("1440.10"))
    sent = script.requests[0].content
    assert b'"price":"1450.00"' in sent.replace(b" ", b"")
    assert b'"trigger_price":"1440.10"' in sent.replace(b" ", b"")
    assert placed.order["price"] == Decimal("1450.00")


@pytest.mark.parametrize("bad", [1450.5, Decimal("NaN"), Decimal("Infinity"), "NaN"])
def test_a_float_or_non_finite_price_is_refused_before_sending(bad: object) -> None:
    script = Script()
    with pytest.raises((TypeError, ValueError)):
        script.client().place_order("PAPER1", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=bad)  # type: ignore[arg-type]
    assert script.requests == []


def test_to_decimal_takes_int_text_and_decimal_only() -> None:
    assert to_decimal(5) == Decimal(5)
    assert to_decimal("0.05") == Decimal("0.05")
    for bad in (True, 0.1, None, "abc"):
        with pytest.raises((TypeError, ValueError)):
            to_decimal(bad)


def test_outgoing_refuses_a_float_anywhere() -> None:
    with pytest.raises(TypeError):
        outgoing({"legs": [{"multiplier": 1.5}]})
