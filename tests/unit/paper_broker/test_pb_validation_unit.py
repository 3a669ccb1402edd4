"""Kite's input rules for place and modify, without HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paper_broker.errors import InputError
from paper_broker.instruments import Catalogue
from paper_broker.validation import Terms, parse_modify, parse_place, parse_variety

FORM = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": "5",
    "product": "CNC",
    "order_type": "LIMIT",
    "price": "1500.05",
    "variety": "regular",
}


def test_a_valid_limit_order_parses_into_exact_terms(catalogue: Catalogue) -> None:
    request = parse_place({**FORM, "tag": "abc123"}, "regular", catalogue)

    assert request.instrument.tradingsymbol == "INFY"
    assert request.terms == Terms(
        order_type="LIMIT",
        quantity=5,
        price=Decimal("1500.05"),
        trigger_price=Decimal(0),
        validity="DAY",
        disclosed_quantity=0,
        market_protection=Decimal(0),
    )
    assert request.tag == "abc123"
    assert not request.autoslice


def test_market_orders_ignore_a_price_and_accept_automatic_protection(
    catalogue: Catalogue,
) -> None:
    form = {**FORM, "order_type": "MARKET", "price": "12.34", "market_protection": "-1"}

    terms = parse_place(form, "regular", catalogue).terms

    assert terms.price == 0
    assert terms.market_protection == -1


@pytest.mark.parametrize("protection", ["0", None, "0.0"])
def test_market_orders_need_protection(catalogue: Catalogue, protection: str | None) -> None:
    form = {**FORM, "order_type": "MARKET"}
    if protection is not None:
        form["market_protection"] = protection

    with pytest.raises(InputError, match="market protection"):
        parse_place(form, "regular", catalogue)


@pytest.mark.parametrize("tag", ["a" * 20, "A1b2C3"])
def test_tags_up_to_twenty_alphanumerics(catalogue: Catalogue, tag: str) -> None:
    assert parse_place({**FORM, "tag": tag}, "regular", catalogue).tag == tag


@pytest.mark.parametrize("tag", ["a" * 21, "with-dash", "ünï"])
def test_other_tags_get_kites_old_message(catalogue: Catalogue, tag: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_place({**FORM, "tag": tag}, "regular", catalogue)

    assert raised.value.message == "`tag` should be max 8 characters"
    assert raised.value.http_status == 400
    assert raised.value.error_type == "InputException"


@pytest.mark.parametrize("variety", ["REGULAR", "Amo", "co", "iceberg", "auction"])
def test_varieties_are_case_insensitive(variety: str) -> None:
    assert parse_variety(variety) == variety.lower()


def test_unknown_variety() -> None:
    with pytest.raises(InputError, match="variety"):
        parse_variety("bo")


def test_cover_orders_report_product_co(catalogue: Catalogue) -> None:
    form = {**FORM, "product": "MIS", "trigger_price": "1400"}

    assert parse_place(form, "co", catalogue).product == "CO"


def test_iceberg_legs_must_cover_the_quantity(catalogue: Catalogue) -> None:
    form = {**FORM, "quantity": "10", "iceberg_legs": "2", "iceberg_quantity": "5"}
    assert parse_place(form, "iceberg", catalogue).iceberg_legs == 2

    with pytest.raises(InputError, match="iceberg_quantity"):
        parse_place({**form, "iceberg_quantity": "4"}, "iceberg", catalogue)
    with pytest.raises(InputError, match="iceberg_legs"):
        parse_place({**form, "iceberg_legs": "51"}, "iceberg", catalogue)


def test_autoslice_allows_up_to_ten_freeze_quantities(catalogue: Catalogue) -> None:
    future = next(item for item in catalogue if item.instrument_type == "FUT")
    form = {
        **FORM,
        "exchange": "NFO",
        "tradingsymbol": future.tradingsymbol,
        "product": "NRML",
        "price": "100",
        "autoslice": "true",
    }
    limit = future.freeze_quantity * 10

    assert parse_place({**form, "quantity": str(limit)}, "regular", catalogue).autoslice
    with pytest.raises(InputError, match="freeze limit"):
        parse_place({**form, "quantity": str(limit + future.lot_size)}, "regular", catalogue)


def test_modify_keeps_unsent_terms(catalogue: Catalogue) -> None:
    current = parse_place(FORM, "regular", catalogue).terms

    changed = parse_modify({"quantity": "7", "order_id": "1", "variety": "regular"}, current)

    assert changed.quantity == 7
    assert changed.price == current.price
    to_market = parse_modify({"order_type": "MARKET", "market_protection": "5"}, current)
    assert to_market.price == 0
    assert to_market.market_protection == 5


@pytest.mark.parametrize(
    "changes",
    [{"quantity": "x"}, {"price": "-1"}, {"validity": "GTC"}, {"order_type": "BRACKET"}],
)
def test_modify_refuses_bad_values(catalogue: Catalogue, changes: dict[str, str]) -> None:
    current = parse_place(FORM, "regular", catalogue).terms

    with pytest.raises(InputError):
        parse_modify(changes, current)
