"""Charges from the schedule, and the margin breakdowns built on the books' margin model."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from paper_broker.books import Account
from paper_broker.charges import BUDGET_2026, OCT_2024, add_charges, order_charges, rates_on
from paper_broker.instruments import Catalogue, Instrument
from paper_broker.margins import MarginOrder, basket, compact, order_margin

BEFORE_BUDGET = date(2026, 1, 15)
AFTER_BUDGET = date(2026, 12, 7)


def _item(catalogue: Catalogue, kind: str) -> Instrument:
    return next(item for item in catalogue if item.instrument_type == kind and item.lot_size > 1)


def _order(
    instrument: Instrument, side: str, quantity: int, price: str, product: str
) -> MarginOrder:
    return MarginOrder(instrument, side, "regular", product, "LIMIT", quantity, Decimal(price))


def test_the_latest_row_not_after_the_day_applies() -> None:
    assert rates_on("futures", BEFORE_BUDGET).stt_sell == Decimal("0.0002")
    assert rates_on("futures", AFTER_BUDGET).stt_sell == Decimal("0.0005")
    assert rates_on("options", BUDGET_2026).stt_sell == Decimal("0.0015")
    with pytest.raises(ValueError, match="no charges"):
        rates_on("equity_delivery", OCT_2024.replace(year=2020))


def test_a_delivery_buy_of_one_lakh(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None

    charges = order_charges(infy, "CNC", True, 100, Decimal(1000), AFTER_BUDGET)

    # Turnover 100 × 1000 = ₹1,00,000. STT 0.1 % = 100 (to the rupee); NSE 0.00297 % = 2.97;
    # SEBI ₹10/crore = 0.10; stamp 0.015 % = 15.00; brokerage 0.00.
    # GST 18 % of the rounded (0.00 + 2.97 + 0.10) = 0.5526 → 0.55 (to the paisa).
    # Total 100 + 2.97 + 0.10 + 15.00 + 0.55 = 118.62.
    assert charges["transaction_tax"] == Decimal("100")
    assert charges["exchange_turnover_charge"] == Decimal("2.97")
    assert charges["sebi_turnover_charge"] == Decimal("0.10")
    assert charges["stamp_duty"] == Decimal("15.00")
    assert charges["brokerage"] == 0
    assert charges["gst"]["igst"] == charges["gst"]["total"] == Decimal("0.55")
    assert charges["total"] == Decimal("118.62")


def test_intraday_brokerage_is_capped_and_options_pay_a_flat_twenty(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    option = _item(catalogue, "CE")

    small = order_charges(infy, "MIS", False, 10, Decimal(1000), AFTER_BUDGET)
    large = order_charges(infy, "MIS", False, 1000, Decimal(1000), AFTER_BUDGET)
    premium = order_charges(option, "NRML", True, option.lot_size, Decimal(1), AFTER_BUDGET)

    # 10 × 1000 = ₹10,000: brokerage 0.03 % = 3.00 (under ₹20); STT 0.025 % = 2.50 → ₹3 (half up).
    assert small["brokerage"] == Decimal(3)
    assert small["transaction_tax"] == Decimal(3)
    assert large["brokerage"] == 20
    assert premium["brokerage"] == 20
    assert premium["transaction_tax"] == 0


def test_charges_add_up(catalogue: Catalogue) -> None:
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    one = order_charges(infy, "CNC", True, 1, Decimal(100), AFTER_BUDGET)

    both = add_charges([one, one])

    assert both["total"] == 2 * one["total"]
    assert both["gst"]["total"] == 2 * one["gst"]["total"]
    assert both["transaction_tax_type"] == "stt"


def test_margins_are_split_the_way_kite_reports_them(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(10**9))
    infy = catalogue.by_key("NSE:INFY")
    assert infy is not None
    future, call = _item(catalogue, "FUT"), _item(catalogue, "CE")

    stock = order_margin(account, _order(infy, "BUY", 10, "1000", "MIS"), AFTER_BUDGET)
    bought = order_margin(account, _order(call, "BUY", call.lot_size, "100", "NRML"), AFTER_BUDGET)
    carried = order_margin(account, _order(future, "SELL", 75, "20000", "NRML"), AFTER_BUDGET)

    assert (stock["var"], stock["leverage"], stock["total"]) == (2000, 5, 2000)
    assert bought["option_premium"] == bought["total"] == 100 * call.lot_size
    assert carried["span"] + carried["exposure"] == carried["total"] == Decimal(225_000)
    assert carried["span"] == Decimal(165_000)


def test_a_hedged_basket_needs_less_in_the_end(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(10**9))
    future = _item(catalogue, "FUT")
    short = _order(future, "SELL", 75, "20000", "NRML")
    long = _order(future, "BUY", 75, "20000", "NRML")

    result = basket(account, [short, long], AFTER_BUDGET, with_positions=False)

    assert result["initial"]["total"] == 2 * result["orders"][0]["total"]
    assert result["final"]["span"] == result["orders"][0]["span"]
    assert result["final"]["total"] < result["initial"]["total"]
    assert set(compact(result)["orders"][0]) == {"type", "tradingsymbol", "exchange", "total"}


def test_open_positions_can_hedge_a_basket(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(10**9))
    future = _item(catalogue, "FUT")
    account.apply_fill(future, "NRML", False, 75, Decimal(20000))
    hedge = _order(future, "BUY", 75, "20000", "NRML")

    alone = basket(account, [hedge], AFTER_BUDGET, with_positions=False)
    hedged = basket(account, [hedge], AFTER_BUDGET, with_positions=True)

    assert alone["final"]["span"] > 0
    assert hedged["final"]["span"] == 0
    assert hedged["initial"] == alone["initial"]
