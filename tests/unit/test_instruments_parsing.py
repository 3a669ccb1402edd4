"""The instruments CSV and the shipped freeze limits: exact numbers, refusals named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from order_service.adapters.broker.instruments_parsing import instrument_list
from order_service.adapters.freeze_file import load_freeze_limits
from order_service.domain.instrument import FreezeLimits
from order_service.errors import ConfigurationError, DataFormatError


def test_the_csv_keeps_exact_numbers_and_leaves_out_rows_no_instrument_can_be() -> None:
    header = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
    header += "tick_size,lot_size,instrument_type,segment,exchange\n"
    rows = [
        "408065,1594,INFY,INFOSYS,1580.5,,0,0.05,1,EQ,NSE,NSE",
        "13238786,51714,NIFTY26DEC26150CE,NIFTY,12.3,2026-12-29,26150.0,0.05,75,CE,NFO-OPT,NFO",
        "1,1,BADTICK,X,0,,0,nan,1,EQ,NSE,NSE",
        "2,2,BADLOT,X,0,,0,0.05,-1,EQ,NSE,NSE",
        "3,3,BADDATE,X,0,2026-13-01,0,0.05,1,FUT,NFO-FUT,NFO",
    ]

    parsed, skipped = instrument_list((header + "\n".join(rows)).encode())

    assert [i.tradingsymbol for i in parsed] == ["INFY", "NIFTY26DEC26150CE"]
    option = parsed[1]
    assert (option.strike, option.tick_size, option.expiry) == (
        Decimal("26150.0"),
        Decimal("0.05"),
        date(2026, 12, 29),
    )
    assert parsed[0].strike is None
    assert len(skipped) == 3
    with pytest.raises(DataFormatError):
        instrument_list("tradingsymbol,exchange\nINFY,NSE\n")


def test_the_shipped_freeze_limits_are_dated_and_cited() -> None:
    limits = load_freeze_limits()
    assert limits.limits[("NFO", "NIFTY")] == 1800
    assert "nseindia" in limits.source
    assert isinstance(limits, FreezeLimits)


def test_a_freeze_limit_that_is_not_a_positive_whole_number_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "limits.toml"
    bad.write_text('effective_from = 2026-12-01\nsource = "x"\n[limits.NFO]\nNIFTY = 0\n')
    with pytest.raises(ConfigurationError, match="NIFTY"):
        load_freeze_limits(bad)
