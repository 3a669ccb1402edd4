"""Kite's margin calculators and virtual contract note on the wire: the orders as its JSON, the
answers as exact Decimals, and anything unreadable refused whole."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from order_service.adapters.broker.preview_parsing import (
    basket_margins,
    contract_note_lines,
    json_number,
    margin_list,
    margin_order,
    priced_order,
)
from order_service.domain.previews import ChargeBreakdown, Margin, PricedOrder
from order_service.domain.values import OrderType, Product, TransactionType
from order_service.errors import DataFormatError
from tests.factories import make_limit_request, make_request

CHARGES = """{
  "transaction_tax": 15, "transaction_tax_type": "stt", "exchange_turnover_charge": 0.45,
  "sebi_turnover_charge": 0.02, "brokerage": 0, "stamp_duty": 2.28,
  "gst": {"igst": 0.08, "cgst": 0, "sgst": 0, "total": 0.08}, "total": 17.83
}"""
MARGIN = f"""{{
  "type": "equity", "tradingsymbol": "INFY", "exchange": "NSE", "span": 0, "exposure": 0,
  "option_premium": 0, "additional": 0, "bo": 0, "cash": 0, "var": 15203.5,
  "pnl": {{"realised": 0, "unrealised": 0}}, "leverage": 1, "charges": {CHARGES},
  "total": 1520.35
}}"""
# Real Kite's order_margins fixture: the older spelling of the tax, and float noise.
KITE_FIXTURE_CHARGES = """{
  "transaction_charge": 1.498, "transaction_charge_type": "stt",
  "exchange_turnover_charge": 0.051681, "sebi_turnover_charge": 0.001498, "brokerage": 0.01,
  "stamp_duty": 0.22,
  "gst": {"igst": 0.011372219999999999, "cgst": 0, "sgst": 0, "total": 0.011372219999999999},
  "total": 1.79255122
}"""
TOTALS = """{
  "type": "", "tradingsymbol": "", "exchange": "", "span": 132257.58, "exposure": 56597.19,
  "option_premium": 0, "additional": 0, "bo": 0, "cash": 0, "var": 0,
  "pnl": {"realised": 0, "unrealised": 0}, "leverage": 0, "total": 188854.77
}"""
FINAL = TOTALS.replace("188854.77", "35453.209999999985")
LINE = f"""{{
  "transaction_type": "SELL", "tradingsymbol": "INFY", "exchange": "NSE", "variety": "regular",
  "product": "CNC", "order_type": "LIMIT", "quantity": 10, "price": 1520.35,
  "charges": {CHARGES}
}}"""


def sdk(text: str) -> Any:
    """The answer as the SDK hands it over: ``json`` floats (NaN and Infinity included)."""
    return json.loads(text)


def numbers(value: Margin | ChargeBreakdown) -> list[object]:
    """Every value of ``value`` (nested ones too) that is not text."""

    def flat(node: object) -> list[object]:
        if isinstance(node, dict):
            return [leaf for child in node.values() for leaf in flat(child)]
        return [] if isinstance(node, str) else [node]

    return flat(dataclasses.asdict(value))


def test_an_order_margin_is_read_exactly() -> None:
    (margin,) = margin_list(sdk(f"[{MARGIN}]"))

    assert margin.total == Decimal("1520.35")
    assert str(margin.total) == "1520.35"
    assert margin.var == Decimal("15203.5")
    assert (margin.type, margin.exchange, margin.tradingsymbol) == ("equity", "NSE", "INFY")
    assert margin.charges is not None
    assert margin.charges.stamp_duty == Decimal("2.28")
    assert margin.charges.gst.total == Decimal("0.08")
    assert margin.charges.total == Decimal("17.83")
    assert len(numbers(margin)) == 11 + 10  # its own amounts and its charges'
    assert all(type(v) is Decimal for v in numbers(margin))


def test_real_kites_spelling_of_the_tax_and_its_float_noise_are_kept_exactly() -> None:
    body = sdk(MARGIN)
    body["charges"] = sdk(KITE_FIXTURE_CHARGES)

    (margin,) = margin_list([body])

    assert margin.charges is not None
    assert margin.charges.transaction_tax == Decimal("1.498")
    assert margin.charges.transaction_tax_type == "stt"
    assert margin.charges.gst.igst == Decimal("0.011372219999999999")


def test_a_margin_without_charges_has_none() -> None:
    body = sdk(MARGIN)
    del body["charges"]

    assert margin_list([body])[0].charges is None


def test_a_basket_is_read_exactly_with_its_hedge_benefit() -> None:
    answer = sdk(
        f'{{"initial": {TOTALS}, "final": {FINAL}, "orders": [{MARGIN}, {MARGIN}],'
        f' "charges": {CHARGES}}}'
    )

    basket = basket_margins(answer)

    assert basket.initial.total == Decimal("188854.77")
    assert basket.final.total == Decimal("35453.209999999985")
    assert basket.hedge_benefit == Decimal("153401.560000000015")
    assert basket.initial.tradingsymbol == ""
    assert basket.initial.charges is None
    assert [order.total for order in basket.orders] == [Decimal("1520.35")] * 2
    assert basket.charges is not None
    assert basket.charges.total == Decimal("17.83")


def test_a_basket_without_its_charges_as_real_kite_sends_it() -> None:
    answer = sdk(f'{{"initial": {TOTALS}, "final": {FINAL}, "orders": []}}')

    assert basket_margins(answer).charges is None


def test_a_contract_note_line_is_read_exactly() -> None:
    (line,) = contract_note_lines(sdk(f"[{LINE}]"))

    assert line.price == Decimal("1520.35")
    assert (line.exchange, line.tradingsymbol, line.transaction_type) == ("NSE", "INFY", "SELL")
    assert (line.variety, line.product, line.order_type, line.quantity) == (
        "regular",
        "CNC",
        "LIMIT",
        10,
    )
    assert line.charges.transaction_tax == Decimal(15)
    assert all(type(v) is Decimal for v in numbers(line.charges))


def spoiled(text: str, path: tuple[str, ...], value: object) -> Any:
    """The answer with the field at ``path`` set to ``value`` (deleted when ``...``)."""
    body = sdk(text)
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


BAD_MARGINS = [
    pytest.param(("total",), float("nan"), id="nan-total"),
    pytest.param(("span",), float("inf"), id="infinite-span"),
    pytest.param(("var",), "-Infinity", id="infinite-text"),
    pytest.param(("total",), ..., id="missing-total"),
    pytest.param(("exposure",), None, id="null-exposure"),
    pytest.param(("leverage",), True, id="boolean-leverage"),
    pytest.param(("pnl", "realised"), ..., id="missing-pnl"),
    pytest.param(("pnl",), 0, id="pnl-not-an-object"),
    pytest.param(("charges", "gst", "total"), "NaN", id="nan-gst"),
    pytest.param(("charges", "transaction_tax"), ..., id="missing-tax"),
    pytest.param(("charges", "brokerage"), "twenty", id="unreadable-brokerage"),
    pytest.param(("charges",), [], id="charges-not-an-object"),
    pytest.param(("type",), 7, id="type-not-text"),
]


@pytest.mark.parametrize(("path", "value"), BAD_MARGINS)
def test_an_unreadable_order_margin_is_refused(path: tuple[str, ...], value: object) -> None:
    with pytest.raises(DataFormatError) as caught:
        margin_list([spoiled(MARGIN, path, value)])

    assert caught.value.details["reason"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"data": []}, id="an-object-for-a-list"),
        pytest.param(["equity"], id="a-row-not-an-object"),
        pytest.param(None, id="nothing"),
    ],
)
def test_order_margins_of_another_shape_are_refused(answer: object) -> None:
    with pytest.raises(DataFormatError):
        margin_list(answer)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("final",), ..., id="missing-final"),
        pytest.param(("initial", "total"), float("nan"), id="nan-initial"),
        pytest.param(("final", "total"), float("-inf"), id="infinite-final"),
        pytest.param(("orders",), {}, id="orders-not-a-list"),
        pytest.param(("orders", 0), "INFY", id="an-order-not-an-object"),
        pytest.param(("charges", "total"), ..., id="missing-charges-total"),
    ],
)
def test_an_unreadable_basket_is_refused(path: tuple[Any, ...], value: object) -> None:
    text = f'{{"initial": {TOTALS}, "final": {FINAL}, "orders": [{MARGIN}], "charges": {CHARGES}}}'

    with pytest.raises(DataFormatError):
        basket_margins(spoiled(text, path, value))


def test_a_basket_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DataFormatError):
        basket_margins([sdk(TOTALS)])


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("price",), float("nan"), id="nan-price"),
        pytest.param(("price",), ..., id="missing-price"),
        pytest.param(("quantity",), 0, id="no-quantity"),
        pytest.param(("quantity",), 2.5, id="fractional-quantity"),
        pytest.param(("charges",), ..., id="missing-charges"),
        pytest.param(("charges", "total"), float("inf"), id="infinite-charges"),
        pytest.param(("tradingsymbol",), "", id="no-symbol"),
    ],
)
def test_an_unreadable_contract_note_line_is_refused(path: tuple[str, ...], value: object) -> None:
    with pytest.raises(DataFormatError):
        contract_note_lines([spoiled(LINE, path, value)])


def test_a_contract_note_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(DataFormatError):
        contract_note_lines(sdk(LINE))


def test_an_order_goes_as_kites_json_object_with_exact_numbers() -> None:
    request = make_limit_request(price=Decimal("1520.35"))

    body = margin_order(request)

    assert body == {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "variety": "regular",
        "product": "CNC",
        "order_type": "LIMIT",
        "quantity": 10,
        "price": 1520.35,
        "trigger_price": 0,
    }
    assert '"price": 1520.35,' in json.dumps(body)  # what the SDK's encoder writes


def test_an_order_without_a_price_or_trigger_sends_zero() -> None:
    body = margin_order(make_request())

    assert (body["order_type"], body["price"], body["trigger_price"]) == ("MARKET", 0, 0)


def test_a_priced_order_carries_a_placeholder_id_and_its_average_price() -> None:
    request = make_request(transaction_type=TransactionType.SELL, product=Product.MIS)
    order = PricedOrder(request, Decimal("1499.95"))

    body = priced_order(order, 3)

    assert body["order_id"] == "preview-3"
    assert body["average_price"] == 1499.95
    assert (body["transaction_type"], body["product"]) == ("SELL", "MIS")
    assert body["order_type"] == OrderType.MARKET.value


@pytest.mark.parametrize(
    ("price", "wire"),
    [
        (Decimal("1520.35"), "1520.35"),
        (Decimal("1500.00"), "1500"),
        (Decimal("0.05"), "0.05"),
        (Decimal("26150.05"), "26150.05"),
        (Decimal("99999999.95"), "99999999.95"),
    ],
)
def test_a_tick_multiple_becomes_a_json_number_that_reads_back_exactly(
    price: Decimal, wire: str
) -> None:
    text = json.dumps(json_number(price))

    assert text == wire
    assert Decimal(text) == price


def test_a_price_no_json_number_holds_exactly_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no exact JSON number"):
        json_number(Decimal("0.12345678901234567891"))
