"""The built-in instruments and their CSV dump."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from paper_broker.catalogue import build_catalogue
from paper_broker.instruments import CSV_COLUMNS, Catalogue, render_csv


def test_stocks_carry_kite_tokens(catalogue: Catalogue) -> None:
    tokens = {
        symbol: item.instrument_token
        for symbol in ("INFY", "RELIANCE", "TCS", "SBIN", "HDFCBANK")
        if (item := catalogue.find("NSE", symbol)) is not None
    }

    assert tokens == {
        "INFY": 408065,
        "RELIANCE": 738561,
        "TCS": 2953217,
        "SBIN": 779521,
        "HDFCBANK": 341249,
    }


def test_derivatives_follow_the_clock() -> None:
    catalogue = build_catalogue(date(2026, 11, 29))

    futures = sorted(item.tradingsymbol for item in catalogue if item.instrument_type == "FUT")

    assert futures == ["BANKNIFTY26DECFUT", "BANKNIFTY27JANFUT", "NIFTY26DECFUT", "NIFTY27JANFUT"]
    nifty = catalogue.find("NFO", "NIFTY26DECFUT")
    assert nifty is not None
    assert (nifty.lot_size, nifty.freeze_quantity, nifty.expiry) == (75, 1800, date(2026, 12, 29))
    banknifty = catalogue.find("NFO", "BANKNIFTY27JANFUT")
    assert banknifty is not None
    assert (banknifty.lot_size, banknifty.freeze_quantity) == (35, 600)


def test_options_straddle_the_money(catalogue: Catalogue) -> None:
    nifty_calls = sorted(
        item.strike
        for item in catalogue
        if item.name == "NIFTY"
        and item.instrument_type == "CE"
        and item.expiry == date(2026, 12, 29)
    )

    assert nifty_calls == [Decimal(strike) for strike in (26050, 26100, 26150, 26200, 26250)]
    for item in catalogue:
        if item.instrument_type in {"CE", "PE"}:
            assert item.base_price > 0
            assert item.base_price % item.tick_size == 0
            assert item.tradingsymbol.endswith(f"{item.strike}{item.instrument_type}")


def test_tokens_and_keys_are_unique(catalogue: Catalogue) -> None:
    items = list(catalogue)

    assert len({item.instrument_token for item in items}) == len(items) == len(catalogue)
    for item in items:
        assert catalogue.by_token(item.instrument_token) is item


def test_csv_has_the_twelve_kite_columns(catalogue: Catalogue) -> None:
    infy = catalogue.find("NSE", "INFY")
    assert infy is not None

    lines = render_csv([infy.csv_row(Decimal("1580.05"))]).splitlines()

    assert lines[0].split(",") == list(CSV_COLUMNS)
    assert len(CSV_COLUMNS) == 12
    assert lines[1] == "408065,1594,INFY,INFOSYS,1580.05,,0,0.05,1,EQ,NSE,NSE"
