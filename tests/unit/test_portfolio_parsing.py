"""Positions, holdings and quotes from the SDK's dictionaries: exact, or refused whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from order_service.adapters.broker.portfolio_parsing import (
    holding_reports,
    position_reports,
    quote_reports,
)
from order_service.errors import DataFormatError


def position_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "exchange": "NFO",
        "tradingsymbol": "NIFTY26DECFUT",
        "product": "NRML",
        "quantity": -75,
        "overnight_quantity": -75,
        "average_price": 26150.05,
        "last_price": 26100.5,
        "close_price": 26120,
        "pnl": 3716.25,
        "realised": 0,
        "unrealised": 3716.25,
    }
    return {**row, **overrides}


def holding_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "isin": "INE009A01021",
        "quantity": 10,
        "t1_quantity": 4,
        "average_price": 1500.25,
        "last_price": 1510,
        "close_price": 1505,
        "pnl": 136.5,
    }
    return {**row, **overrides}


def test_a_short_carried_position_is_read_exactly() -> None:
    (position,) = position_reports({"net": [position_row()], "day": []})

    assert (position.quantity, position.overnight_quantity) == (-75, -75)
    assert position.average_price == Decimal("26150.05")
    assert position.unrealised == Decimal("3716.25")


def test_holdings_keep_the_unsettled_quantity_apart() -> None:
    (holding,) = holding_reports([holding_row()])

    assert (holding.quantity, holding.t1_quantity, holding.isin) == (10, 4, "INE009A01021")
    assert holding.average_price == Decimal("1500.25")


def test_quotes_are_keyed_by_instrument_with_the_previous_close() -> None:
    quotes = quote_reports({"NSE:INFY": {"last_price": 1512.25, "ohlc": {"close": 1490}}})

    quote = quotes["NSE:INFY"]
    assert (quote.exchange, quote.tradingsymbol) == ("NSE", "INFY")
    assert (quote.last_price, quote.close_price) == (Decimal("1512.25"), Decimal(1490))
    assert (quote.lower_circuit, quote.upper_circuit) == (None, None)  # ohlc() has no band


@pytest.mark.parametrize(
    ("lower", "upper", "band"),
    [
        (1341.0, 1639.1, (Decimal("1341.0"), Decimal("1639.1"))),
        (0, 0, (None, None)),  # Kite's way of saying there is no band
        (1639.1, 1341.0, (None, None)),  # a band upside down is no band
    ],
)
def test_a_full_quote_gives_the_day_s_circuit_band(
    lower: float, upper: float, band: tuple[Decimal | None, Decimal | None]
) -> None:
    row = {"last_price": 1490.1, "ohlc": {"close": 1490},
           "lower_circuit_limit": lower, "upper_circuit_limit": upper}  # fmt: skip
    quote = quote_reports({"NSE:INFY": row})["NSE:INFY"]
    assert (quote.lower_circuit, quote.upper_circuit) == band


def test_a_full_quote_gives_the_days_ohlc_and_volume() -> None:
    row = {"last_price": 1512.25, "volume": 40210,
           "ohlc": {"open": 1495.5, "high": 1520, "low": 1490.05, "close": 1490}}  # fmt: skip
    quote = quote_reports({"NSE:INFY": row})["NSE:INFY"]
    day = (quote.open_price, quote.high_price, quote.low_price, quote.close_price)
    assert day == (Decimal("1495.5"), Decimal(1520), Decimal("1490.05"), Decimal(1490))
    assert quote.volume == 40210


def test_a_circuit_limit_that_is_not_finite_is_a_malformed_quote() -> None:
    row = {"last_price": 1490.1, "lower_circuit_limit": "NaN", "upper_circuit_limit": 1639}
    with pytest.raises(DataFormatError):
        quote_reports({"NSE:INFY": row})


@pytest.mark.parametrize(
    "row",
    [
        position_row(pnl=float("nan")),
        position_row(average_price="Infinity"),
        position_row(quantity=7.5),
        position_row(quantity=True),
        position_row(exchange=""),
        {key: value for key, value in position_row().items() if key != "realised"},
    ],
)
def test_a_position_no_book_can_hold_refuses_the_whole_reply(row: dict[str, Any]) -> None:
    with pytest.raises(DataFormatError):
        position_reports({"net": [position_row(), row]})


@pytest.mark.parametrize(
    "reply",
    [
        [holding_row(quantity=-1)],
        [holding_row(last_price="NaN")],
        {"not": "a list"},
    ],
)
def test_malformed_holdings_are_refused(reply: object) -> None:
    with pytest.raises(DataFormatError):
        holding_reports(reply)


@pytest.mark.parametrize(
    "reply",
    [
        {"INFY": {"last_price": 1500}},
        {"NSE:INFY": {"last_price": -1}},
        {"NSE:INFY": {"last_price": float("inf")}},
        {"NSE:INFY": {"last_price": 1500, "ohlc": {"open": "NaN", "close": 1490}}},
        {"NSE:INFY": {"last_price": 1500, "ohlc": {"low": -2, "close": 1490}}},
        {"NSE:INFY": {"last_price": 1500, "volume": 10.5}},
        {"NSE:INFY": {"last_price": 1500, "volume": -3}},
        {"NSE:INFY": {"last_price": 1500, "volume": True}},
        ["NSE:INFY"],
    ],
)
def test_malformed_quotes_are_refused(reply: object) -> None:
    with pytest.raises(DataFormatError):
        quote_reports(reply)


def test_positions_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(DataFormatError):
        position_reports([position_row()])
