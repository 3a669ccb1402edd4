"""Charges of executed orders from the effective-dated schedules: worked examples, refusals,
the packaged schedule files, the promises as properties, and agreement with the paper broker.

Every figure below is worked out by hand in the comments beside it, with the rounding rules of
``order_service.domain.charges``: STT to the rupee, every other part and GST to the paisa, half up.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, localcontext
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.adapters.charges_file import load_charge_schedules
from order_service.domain.charges import (
    Charges,
    ChargeSchedule,
    ChargeSchedules,
    Segment,
    dp_charges,
    order_charges,
    segment_of,
)
from order_service.errors import ConfigurationError, ValidationError
from paper_broker.catalogue import build_catalogue
from paper_broker.charges import order_charges as paper_order_charges
from paper_broker.instruments import Instrument

D = Decimal
SCHEDULES = load_charge_schedules()
OCT_2024 = date(2024, 10, 1)
BUDGET_2026 = date(2026, 4, 1)
TRADE_DAY = date(2025, 1, 15)
FUTURE = "NIFTY26APRFUT"
CALL = "NIFTY26APR25000CE"
PACKAGED = resources.files("order_service").joinpath("data", "charges")


def charged(
    exchange: str,
    symbol: str,
    product: str,
    is_buy: bool,
    quantity: int,
    price: str,
    day: date = TRADE_DAY,
) -> Charges:
    return order_charges(
        SCHEDULES, exchange, symbol, product, is_buy, quantity, quantity * D(price), day
    )


# Worked examples.


def test_an_equity_delivery_buy_of_100_infy_at_1500() -> None:
    charges = charged("NSE", "INFY", "CNC", True, 100, "1500")

    # Turnover 100 × 1500 = ₹1,50,000. Brokerage: delivery is free, 0.00.
    # STT 0.1 % = 150.000 → ₹150 (already whole; STT rounds to the rupee, half up).
    # NSE 0.00297 % = 4.455 → 4.46 (to the paisa, half up). SEBI ₹10/crore = 0.15.
    # Stamp duty, buy side only, 0.015 % = 22.50.
    # GST 18 % of the rounded (0.00 + 4.46 + 0.15) = 18 % of 4.61 = 0.8298 → 0.83.
    # Total 0.00 + 150 + 4.46 + 0.15 + 22.50 + 0.83 = 177.94.
    assert charges == Charges(
        brokerage=D("0.00"),
        stt=D(150),
        exchange_transaction=D("4.46"),
        sebi_fee=D("0.15"),
        stamp_duty=D("22.50"),
        gst=D("0.83"),
    )
    assert charges.total == D("177.94")


def test_an_equity_delivery_sell_of_100_infy_at_1500() -> None:
    charges = charged("NSE", "INFY", "CNC", False, 100, "1500")

    # The same ₹1,50,000 sold: STT 0.1 % on the sell side too = ₹150; NSE 4.46; SEBI 0.15;
    # no stamp duty on a sell; GST 18 % of (0.00 + 4.46 + 0.15) = 0.83.
    # Total 150 + 4.46 + 0.15 + 0.83 = 155.44.
    assert charges == Charges(
        brokerage=D(0),
        stt=D(150),
        exchange_transaction=D("4.46"),
        sebi_fee=D("0.15"),
        stamp_duty=D(0),
        gst=D("0.83"),
    )
    assert charges.total == D("155.44")


def test_stt_rounds_to_the_nearest_rupee_half_up() -> None:
    half = charged("NSE", "INFY", "CNC", False, 1, "1500")
    under = charged("NSE", "INFY", "CNC", False, 1, "1499")

    # 1 × 1500: STT 0.1 % = 1.500 → ₹2 (a half rounds up). 1 × 1499: 1.499 → ₹1.
    # NSE 0.00297 % of 1500 = 0.04455 → 0.04; SEBI 0.0015 → 0.00; GST 18 % of 0.04 = 0.0072
    # → 0.01. Total 2 + 0.04 + 0.00 + 0.01 = 2.05.
    assert (half.stt, under.stt) == (D(2), D(1))
    assert half.total == D("2.05")


def test_intraday_brokerage_under_the_cap() -> None:
    charges = charged("NSE", "INFY", "MIS", True, 10, "1500")

    # Turnover 10 × 1500 = ₹15,000. Brokerage 0.03 % = 4.50 (under ₹20).
    # STT: intraday pays on the sell side only, ₹0. NSE 0.00297 % = 0.4455 → 0.45.
    # SEBI 0.015 → 0.02 (half up). Stamp duty 0.003 % = 0.45.
    # GST 18 % of (4.50 + 0.45 + 0.02) = 18 % of 4.97 = 0.8946 → 0.89.
    # Total 4.50 + 0 + 0.45 + 0.02 + 0.45 + 0.89 = 6.31.
    assert charges == Charges(
        brokerage=D("4.50"),
        stt=D(0),
        exchange_transaction=D("0.45"),
        sebi_fee=D("0.02"),
        stamp_duty=D("0.45"),
        gst=D("0.89"),
    )
    assert charges.total == D("6.31")


def test_intraday_brokerage_over_the_cap_is_twenty_rupees() -> None:
    charges = charged("NSE", "INFY", "MIS", False, 100, "1500")

    # Turnover ₹1,50,000. Brokerage 0.03 % = 45.00, capped at ₹20.00.
    # STT 0.025 % of the sell = 37.50 → ₹38 (half up). NSE 4.455 → 4.46. SEBI 0.15. No stamp.
    # GST 18 % of (20.00 + 4.46 + 0.15) = 18 % of 24.61 = 4.4298 → 4.43.
    # Total 20.00 + 38 + 4.46 + 0.15 + 4.43 = 67.04.
    assert charges == Charges(
        brokerage=D(20),
        stt=D(38),
        exchange_transaction=D("4.46"),
        sebi_fee=D("0.15"),
        stamp_duty=D(0),
        gst=D("4.43"),
    )
    assert charges.total == D("67.04")


def test_a_futures_sell_the_day_before_the_2026_schedule() -> None:
    charges = charged("NFO", FUTURE, "NRML", False, 75, "25000", date(2026, 3, 31))

    # Turnover 75 × 25000 = ₹18,75,000. Brokerage 0.03 % = 562.50, capped at 20.00.
    # STT 0.02 % (Finance (No. 2) Act 2024) = 375.00 → ₹375.
    # NSE 0.00173 % = 32.4375 → 32.44. SEBI 1.875 → 1.88. No stamp duty on a sell.
    # GST 18 % of (20.00 + 32.44 + 1.88) = 18 % of 54.32 = 9.7776 → 9.78.
    # Total 20.00 + 375 + 32.44 + 1.88 + 9.78 = 439.10.
    assert charges.stt == D(375)
    assert (charges.brokerage, charges.exchange_transaction) == (D(20), D("32.44"))
    assert (charges.sebi_fee, charges.stamp_duty, charges.gst) == (D("1.88"), D(0), D("9.78"))
    assert charges.total == D("439.10")


def test_a_futures_sell_on_the_day_the_2026_schedule_starts() -> None:
    charges = charged("NFO", FUTURE, "NRML", False, 75, "25000", BUDGET_2026)

    # Only STT moves: 0.05 % (Finance Act 2026) of ₹18,75,000 = 937.50 → ₹938 (half up).
    # Brokerage 20.00, NSE 32.44, SEBI 1.88, GST 9.78 as the day before.
    # Total 20.00 + 938 + 32.44 + 1.88 + 9.78 = 1002.10.
    assert charges.stt == D(938)
    assert (charges.brokerage, charges.exchange_transaction) == (D(20), D("32.44"))
    assert (charges.sebi_fee, charges.gst) == (D("1.88"), D("9.78"))
    assert charges.total == D("1002.10")


def test_an_options_sell_pays_flat_brokerage_and_stt_on_the_premium() -> None:
    charges = charged("NFO", CALL, "NRML", False, 75, "120.50")

    # Premium turnover 75 × 120.50 = ₹9,037.50. Brokerage flat ₹20.00 per executed order.
    # STT 0.1 % of the premium sold = 9.0375 → ₹9.
    # NSE 0.03503 % of the premium = 3.16583625 → 3.17. SEBI 0.0090375 → 0.01. No stamp duty.
    # GST 18 % of (20.00 + 3.17 + 0.01) = 18 % of 23.18 = 4.1724 → 4.17.
    # Total 20.00 + 9 + 3.17 + 0.01 + 4.17 = 36.35.
    assert charges == Charges(
        brokerage=D(20),
        stt=D(9),
        exchange_transaction=D("3.17"),
        sebi_fee=D("0.01"),
        stamp_duty=D(0),
        gst=D("4.17"),
    )
    assert charges.total == D("36.35")


def test_an_options_buy_back_pays_stamp_duty_and_no_stt() -> None:
    charges = charged("NFO", CALL, "NRML", True, 75, "80")

    # Premium turnover 75 × 80 = ₹6,000. Brokerage flat ₹20.00. STT: none on a buy.
    # NSE 0.03503 % = 2.1018 → 2.10. SEBI 0.006 → 0.01. Stamp duty 0.003 % = 0.18.
    # GST 18 % of (20.00 + 2.10 + 0.01) = 18 % of 22.11 = 3.9798 → 3.98.
    # Total 20.00 + 0 + 2.10 + 0.01 + 0.18 + 3.98 = 26.27.
    assert charges == Charges(
        brokerage=D(20),
        stt=D(0),
        exchange_transaction=D("2.10"),
        sebi_fee=D("0.01"),
        stamp_duty=D("0.18"),
        gst=D("3.98"),
    )
    assert charges.total == D("26.27")


def test_the_dp_charge_of_two_scrips_sold_from_delivery() -> None:
    charges = dp_charges(SCHEDULES, TRADE_DAY, 2)

    # ₹13.00 per scrip per day × 2 = 26.00; GST 18 % of 26.00 = 4.68. Total 30.68.
    assert charges == Charges(dp=D("26.00"), gst=D("4.68"))
    assert charges.total == D("30.68")


def test_a_negative_count_of_scrips_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="scrips"):
        dp_charges(SCHEDULES, TRADE_DAY, -1)


def test_a_callers_narrow_decimal_context_changes_no_figure() -> None:
    turnover = 75 * D(25000)

    with localcontext() as context:
        context.prec = 3  # would make the NSE charge 32.4375 → 32.4 and so 32.40
        charges = order_charges(
            SCHEDULES, "NFO", FUTURE, "NRML", False, 75, turnover, date(2026, 3, 31)
        )

    # The futures sell above: NSE 32.44, total 439.10.
    assert (charges.exchange_transaction, charges.total) == (D("32.44"), D("439.10"))


def test_charges_add_up_part_by_part() -> None:
    buy = charged("NSE", "INFY", "CNC", True, 100, "1500")
    sell = charged("NSE", "INFY", "CNC", False, 100, "1500")

    both = sum([buy, sell], Charges.ZERO)

    # 177.94 + 155.44 = 333.38; STT 150 + 150 = 300; stamp duty only on the buy.
    assert both.total == D("333.38")
    assert (both.stt, both.stamp_duty) == (D(300), D("22.50"))
    with pytest.raises(TypeError):
        buy + 1  # type: ignore[operator]
    assert both.as_dict() == {
        "brokerage": D(0),
        "stt": D(300),
        "exchange_transaction": D("8.92"),
        "sebi_fee": D("0.30"),
        "stamp_duty": D("22.50"),
        "gst": D("1.66"),
        "dp": D(0),
        "total": D("333.38"),
    }


# Refusals.


@pytest.mark.parametrize(
    ("exchange", "symbol"), [("CDS", "USDINR26APRFUT"), ("MCX", "GOLDM26APRFUT")]
)
def test_currency_and_commodity_segments_are_refused_not_charged_zero(
    exchange: str, symbol: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        charged(exchange, symbol, "NRML", True, 1, "100")

    assert raised.value.code == "INVALID_INPUT"
    assert raised.value.details == {"field": "exchange", "exchange": exchange}
    assert "not supported yet" in raised.value.message
    assert exchange in raised.value.message


def test_an_unknown_exchange_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        segment_of("NYSE", "IBM", "CNC")

    assert raised.value.details == {"field": "exchange", "exchange": "NYSE"}


def test_a_trade_date_before_the_first_schedule_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        charged("NSE", "INFY", "CNC", True, 1, "1500", date(2024, 9, 30))

    assert raised.value.code == "INVALID_INPUT"
    assert raised.value.details == {"field": "trade_date", "trade_date": "2024-09-30"}
    assert "no charge schedule covers 2024-09-30" in raised.value.message


def test_nrml_on_the_cash_market_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        charged("NSE", "INFY", "NRML", True, 1, "1500")

    assert raised.value.details == {"field": "product", "product": "NRML"}


def test_a_derivative_that_is_neither_future_nor_option_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        segment_of("NFO", "NIFTY 50", "NRML")

    assert raised.value.details["field"] == "tradingsymbol"


@pytest.mark.parametrize(
    ("quantity", "turnover"), [(0, D(100)), (1, D(0)), (1, D(-5)), (1, D("NaN")), (1, D("Inf"))]
)
def test_an_order_that_cannot_have_executed_is_a_programming_error(
    quantity: int, turnover: Decimal
) -> None:
    with pytest.raises(ValueError, match="executed order"):
        order_charges(SCHEDULES, "NSE", "INFY", "CNC", True, quantity, turnover, TRADE_DAY)


def test_segments_follow_exchange_product_and_symbol() -> None:
    assert segment_of("BSE", "INFY", "MTF") is Segment.EQUITY_DELIVERY
    assert segment_of("BSE", "INFY", "BO") is Segment.EQUITY_INTRADAY
    assert segment_of("BFO", "SENSEX26APRFUT", "MIS") is Segment.FUTURES
    assert segment_of("BFO", "SENSEX26APR80000PE", "NRML") is Segment.OPTIONS


# Schedules from mappings.


def schedule_mapping() -> dict[str, Any]:
    """A complete, valid schedule as a TOML file parses into (one set of rates everywhere)."""
    rates = {
        "brokerage_rate": "0.0003",
        "brokerage_cap": "20",
        "stt_buy": "0",
        "stt_sell": "0.00025",
        "exchange_transaction": "0.0000297",
        "stamp_duty_buy": "0.00003",
    }
    segments = {
        "NSE": ("equity_delivery", "equity_intraday"),
        "BSE": ("equity_delivery", "equity_intraday"),
        "NFO": ("futures", "options"),
        "BFO": ("futures", "options"),
    }
    return {
        "effective_from": date(2030, 1, 1),
        "sebi_fee": "0.000001",
        "gst": "0.18",
        "dp_per_scrip": "13",
        "rates": {name: {kind: dict(rates) for kind in kinds} for name, kinds in segments.items()},
        "sources": {"brokerage": "https://zerodha.com/charges"},
    }


def test_a_valid_mapping_is_a_schedule() -> None:
    schedule = ChargeSchedule.from_mapping(schedule_mapping())

    assert schedule.effective_from == date(2030, 1, 1)
    assert schedule.rates_for("NFO", Segment.FUTURES).stt_sell == D("0.00025")
    assert schedule.dp == D("13.00")


@pytest.mark.parametrize("value", [0.0002, "NaN", "-1", "Infinity", 1, "2 %"])
def test_a_rate_that_is_not_a_finite_non_negative_string_is_refused(value: object) -> None:
    data = schedule_mapping()
    data["rates"]["NFO"]["futures"]["stt_sell"] = value

    with pytest.raises(ValueError, match=r"rates\.NFO\.futures\.stt_sell"):
        ChargeSchedule.from_mapping(data)


def test_a_float_fee_is_refused_by_name() -> None:
    data = {**schedule_mapping(), "sebi_fee": 0.000001}

    with pytest.raises(ValueError, match="sebi_fee: write the number as a string"):
        ChargeSchedule.from_mapping(data)


def test_a_schedule_must_price_every_segment_on_its_own() -> None:
    data = schedule_mapping()
    del data["rates"]["BSE"]

    with pytest.raises(ValueError, match="lacks rates for"):
        ChargeSchedule.from_mapping(data)


def test_a_mistyped_rate_name_is_refused() -> None:
    data = schedule_mapping()
    data["rates"]["NSE"]["equity_delivery"]["stamp_buy"] = "0.00015"

    with pytest.raises(ValueError, match=r"rates\.NSE\.equity_delivery: unknown keys"):
        ChargeSchedule.from_mapping(data)


def _break(data: dict[str, Any], path: str, value: object) -> None:
    *tables, name = path.split(".")
    for table in tables:
        data = data[table]
    if value is None:
        del data[name]
    else:
        data[name] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("rates.NSE.swaps", {}, r"rates\.NSE\.swaps: unknown segment"),
        ("rates.NFO.options.brokerage_flat", "20", "give brokerage_flat, or brokerage_rate"),
        ("rates.NFO.options.brokerage_cap", None, r"rates\.NFO\.options\.brokerage_cap: missing"),
        ("rates.BSE", "none", r"rates\.BSE: give a table"),
        ("effective_from", "1 Jan 2030", "effective_from: '1 Jan 2030' is not a date"),
        ("effective_from", 20300101, "effective_from: give a date"),
        ("sources.gst", 18, "sources.gst: give the citation as text"),
        ("dp", "13", r"the schedule: unknown keys \['dp'\]"),
    ],
)
def test_a_broken_mapping_is_refused_by_name(path: str, value: object, message: str) -> None:
    data = schedule_mapping()
    _break(data, path, value)

    with pytest.raises(ValueError, match=message):
        ChargeSchedule.from_mapping(data)


def test_a_date_may_be_written_as_iso_text() -> None:
    data = {**schedule_mapping(), "effective_from": "2030-01-01"}

    assert ChargeSchedule.from_mapping(data).effective_from == date(2030, 1, 1)


def test_two_schedules_from_one_day_are_refused() -> None:
    schedule = ChargeSchedule.from_mapping(schedule_mapping())

    with pytest.raises(ValueError, match="same day"):
        ChargeSchedules([schedule, schedule])


# The packaged schedule files.


def test_the_packaged_schedules_cover_both_dates() -> None:
    starts = [schedule.effective_from for schedule in SCHEDULES.schedules]

    assert starts == [OCT_2024, BUDGET_2026]
    assert SCHEDULES.on(OCT_2024).effective_from == OCT_2024
    assert SCHEDULES.on(date(2026, 3, 31)).effective_from == OCT_2024
    assert SCHEDULES.on(BUDGET_2026).effective_from == BUDGET_2026


def test_the_2026_schedule_changes_only_the_derivatives_stt() -> None:
    old, new = SCHEDULES.schedules
    raised = {("NFO", "futures"), ("BFO", "futures"), ("NFO", "options"), ("BFO", "options")}

    for key, rates in new.rates.items():
        assert replace(rates, stt_sell=old.rates[key].stt_sell) == old.rates[key]
        assert (rates.stt_sell != old.rates[key].stt_sell) == (key in raised)
    assert (new.sebi, new.gst, new.dp) == (old.sebi, old.gst, old.dp)
    assert new.rates_for("NFO", Segment.FUTURES).stt_sell == D("0.0005")
    assert new.rates_for("BFO", Segment.OPTIONS).stt_sell == D("0.0015")


def test_every_packaged_schedule_cites_its_sources() -> None:
    cited = {"brokerage", "stt_equity", "stt_derivatives", "nse_transaction", "bse_transaction"}
    cited |= {"sebi_fee", "stamp_duty", "gst", "dp"}

    for schedule in SCHEDULES.schedules:
        assert cited <= set(schedule.sources)
        assert "https://zerodha.com/charges" in schedule.sources["brokerage"]


def test_a_malformed_schedule_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "2030-01-01.toml"
    path.write_text('effective_from = 2030-01-01\nsebi_fee = "0.000001\n', encoding="utf-8")

    with pytest.raises(ConfigurationError) as raised:
        load_charge_schedules(tmp_path)

    assert str(path) in raised.value.message
    assert raised.value.details["file"] == str(path)


def test_a_float_in_a_schedule_file_is_a_configuration_error(tmp_path: Path) -> None:
    text = PACKAGED.joinpath("2024-10-01.toml").read_text(encoding="utf-8")
    path = tmp_path / "2024-10-01.toml"
    path.write_text(text.replace('sebi_fee = "0.000001"', "sebi_fee = 0.000001"), "utf-8")

    with pytest.raises(ConfigurationError, match="sebi_fee: write the number as a string"):
        load_charge_schedules(tmp_path)


def test_a_schedule_file_is_named_by_its_date(tmp_path: Path) -> None:
    text = PACKAGED.joinpath("2024-10-01.toml").read_text(encoding="utf-8")
    (tmp_path / "2024-10-02.toml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigurationError, match="named by that date"):
        load_charge_schedules(tmp_path)


def test_an_empty_or_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        load_charge_schedules(tmp_path)
    with pytest.raises(ConfigurationError, match="cannot list"):
        load_charge_schedules(tmp_path / "nowhere")


# Properties.

ORDERS = [
    ("NSE", "INFY", "CNC"),
    ("NSE", "INFY", "MIS"),
    ("BSE", "INFY", "CNC"),
    ("BSE", "INFY", "MIS"),
    ("NFO", FUTURE, "NRML"),
    ("NFO", CALL, "NRML"),
    ("BFO", "SENSEX26APRFUT", "NRML"),
    ("BFO", "SENSEX26APR80000PE", "NRML"),
]
quantities = st.integers(1, 100_000)
prices = st.decimals(D("0.05"), D("100000"), places=2)
days = st.dates(OCT_2024, date(2030, 12, 31))


@given(st.sampled_from(ORDERS), st.booleans(), quantities, prices, days)
def test_charges_are_never_negative(
    order: tuple[str, str, str], is_buy: bool, quantity: int, price: Decimal, day: date
) -> None:
    charges = order_charges(SCHEDULES, *order, is_buy, quantity, quantity * price, day)

    assert all(value >= 0 for value in charges.as_dict().values())


@given(st.sampled_from(ORDERS), st.booleans(), quantities, prices, days)
def test_the_total_is_the_sum_of_the_parts(
    order: tuple[str, str, str], is_buy: bool, quantity: int, price: Decimal, day: date
) -> None:
    parts = order_charges(SCHEDULES, *order, is_buy, quantity, quantity * price, day).as_dict()
    total = parts.pop("total")

    assert total == sum(parts.values())


@given(st.sampled_from(ORDERS), st.booleans(), quantities, prices, days)
def test_stt_is_a_whole_number_of_rupees(
    order: tuple[str, str, str], is_buy: bool, quantity: int, price: Decimal, day: date
) -> None:
    charges = order_charges(SCHEDULES, *order, is_buy, quantity, quantity * price, day)

    assert charges.stt == charges.stt.to_integral_value()


@given(st.sampled_from(["NSE", "BSE"]), st.booleans(), quantities, prices, days)
def test_intraday_brokerage_never_exceeds_twenty_rupees(
    exchange: str, is_buy: bool, quantity: int, price: Decimal, day: date
) -> None:
    charges = order_charges(
        SCHEDULES, exchange, "INFY", "MIS", is_buy, quantity, quantity * price, day
    )

    assert charges.brokerage <= 20


# The paper broker's own implementation agrees with ours.

CATALOGUE = build_catalogue(date(2026, 1, 5))


def _instrument(kind: str) -> Instrument:
    if kind == "EQ":
        found = CATALOGUE.by_key("NSE:INFY")
        assert found is not None
        return found
    return next(item for item in CATALOGUE if item.instrument_type == kind)


@pytest.mark.parametrize("day", [OCT_2024, BUDGET_2026])
@pytest.mark.parametrize(
    ("kind", "product"), [("EQ", "CNC"), ("EQ", "MIS"), ("FUT", "NRML"), ("CE", "NRML")]
)
@given(is_buy=st.booleans(), quantity=quantities, price=prices)
def test_the_paper_broker_charges_the_same_figures(
    kind: str, product: str, day: date, is_buy: bool, quantity: int, price: Decimal
) -> None:
    instrument = _instrument(kind)
    ours = order_charges(
        SCHEDULES,
        instrument.exchange,
        instrument.tradingsymbol,
        product,
        is_buy,
        quantity,
        quantity * price,
        day,
    )

    theirs = paper_order_charges(instrument, product, is_buy, quantity, price, day)

    assert theirs["transaction_tax"] == ours.stt
    assert theirs["exchange_turnover_charge"] == ours.exchange_transaction
    assert theirs["sebi_turnover_charge"] == ours.sebi_fee
    assert theirs["brokerage"] == ours.brokerage
    assert theirs["stamp_duty"] == ours.stamp_duty
    assert theirs["gst"]["total"] == ours.gst
    assert theirs["total"] == ours.total


def test_charges_summed_at_once_are_the_charges_added_one_by_one() -> None:
    buy = ("4.50", "4", "0.45", "0.02", "0.45", "0.89")
    sale = ("20", "0", "1.07", "0.01", "0", "3.80", "15.34")
    parts = [Charges(*map(Decimal, buy)), Charges(*map(Decimal, sale)), Charges.ZERO]
    assert Charges.sum(parts) == parts[0] + parts[1] + parts[2]
    assert Charges.sum([]) == Charges.ZERO
