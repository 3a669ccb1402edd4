"""Parsing the trade book: exact prices, aware timestamps, and malformed rows refused."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from order_service.adapters.broker.parsing import fill_report, fill_reports
from order_service.domain.account import IST
from order_service.domain.values import TransactionType
from order_service.errors import DataFormatError

# The SDK hands out naive IST datetimes (it parses Kite's 19-character timestamps).
SDK_TIME = datetime(2021, 5, 31, 9, 16, 39, tzinfo=IST).replace(tzinfo=None)


def trade_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "trade_id": "10000000",
        "order_id": "151220000000000",
        "exchange": "NSE",
        "tradingsymbol": "SBIN",
        "instrument_token": 779521,
        "product": "CNC",
        "average_price": 420.65,
        "quantity": 1,
        "exchange_order_id": "300000000000000",
        "transaction_type": "BUY",
        "fill_timestamp": SDK_TIME,
        "order_timestamp": "09:16:39",
        "exchange_timestamp": SDK_TIME,
    }
    return {**row, **overrides}


def test_a_trade_row_is_an_exact_fill_with_an_aware_timestamp() -> None:
    report = fill_report(trade_row())

    assert report.trade_id == "10000000"
    assert report.broker_order_id == "151220000000000"
    assert report.price == Decimal("420.65")
    assert report.quantity == 1
    assert report.transaction_type is TransactionType.BUY
    assert report.exchange_timestamp == datetime(2021, 5, 31, 9, 16, 39, tzinfo=IST)


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": -1},
        {"quantity": 0},
        {"quantity": 1.5},
        {"average_price": float("nan")},
        {"average_price": "Infinity"},
        {"average_price": 0},
        {"average_price": -2},
        {"average_price": True},
        {"transaction_type": "HOLD"},
        {"trade_id": ""},
        {"trade_id": None},
    ],
)
def test_a_malformed_trade_row_is_a_data_format_error(overrides: dict[str, Any]) -> None:
    with pytest.raises(DataFormatError):
        fill_report(trade_row(**overrides))


@pytest.mark.parametrize("missing", ["trade_id", "order_id", "quantity", "average_price"])
def test_a_trade_row_missing_a_field_is_a_data_format_error(missing: str) -> None:
    row = trade_row()
    del row[missing]

    with pytest.raises(DataFormatError):
        fill_report(row)


@pytest.mark.parametrize("rows", [None, {"trade_id": "1"}, ["not a row"]])
def test_a_trade_book_that_is_not_a_list_of_rows_is_a_data_format_error(rows: object) -> None:
    with pytest.raises(DataFormatError):
        fill_reports(rows)
