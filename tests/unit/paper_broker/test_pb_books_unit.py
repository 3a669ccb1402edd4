"""Margin blocks and cash movements of an account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paper_broker.books import Account
from paper_broker.errors import MarginError
from paper_broker.instruments import Catalogue, Instrument


def _get(catalogue: Catalogue, key: str) -> Instrument:
    instrument = catalogue.by_key(key)
    assert instrument is not None
    return instrument


def test_margin_rates_by_product(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(100_000))
    infy = _get(catalogue, "NSE:INFY")
    future = next(item for item in catalogue if item.instrument_type == "FUT")
    call = next(item for item in catalogue if item.instrument_type == "CE")
    price = Decimal(100)

    assert account.required_margin(infy, "CNC", True, 10, price) == Decimal(1000)
    assert account.required_margin(infy, "MIS", True, 10, price) == Decimal(200)
    assert account.required_margin(future, "NRML", False, 75, price) == Decimal("1125.00")
    assert account.required_margin(call, "NRML", True, 75, price) == Decimal(7500)
    assert account.required_margin(call, "NRML", False, 75, price) == (
        75 * call.strike * Decimal("0.15")
    ).quantize(Decimal("0.01"))


def test_reducing_a_position_needs_no_margin(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(100_000))
    infy = _get(catalogue, "NSE:INFY")
    account.apply_fill(infy, "CNC", True, 10, Decimal(100))

    account.apply_fill(infy, "MIS", True, 10, Decimal(100))

    assert account.required_margin(infy, "MIS", False, 10, Decimal(100)) == 0
    assert account.required_margin(infy, "MIS", False, 11, Decimal(100)) == Decimal(220)
    assert account.required_margin(infy, "NRML", False, 5, Decimal(100)) == Decimal(500)
    # A delivery sale is covered by holdings (checked at placement), never by margin.
    assert account.required_margin(infy, "CNC", False, 11, Decimal(100)) == 0


def test_blocking_more_than_available_is_refused_in_kite_words() -> None:
    account = Account("U1", Decimal(1000))
    account.block(Decimal(600))

    with pytest.raises(MarginError) as raised:
        account.block(Decimal("400.50"))

    assert str(raised.value) == (
        "Insufficient funds. Required margin is 400.50 but available margin is 400.00."
    )
    assert account.blocked == 600


def test_reblock_is_all_or_nothing() -> None:
    account = Account("U1", Decimal(1000))
    account.block(Decimal(600))

    account.reblock(Decimal(600), Decimal(900))
    assert account.blocked == 900
    with pytest.raises(MarginError):
        account.reblock(Decimal(900), Decimal(1001))
    assert account.blocked == 900
    account.release(Decimal(900))
    assert account.available == 1000


def test_fills_move_cash_and_positions(catalogue: Catalogue) -> None:
    account = Account("U1", Decimal(10_000))
    sbin = _get(catalogue, "NSE:SBIN")

    account.apply_fill(sbin, "MIS", True, 10, Decimal("800.05"))
    account.apply_fill(sbin, "MIS", False, 4, Decimal("810"))

    assert account.cash == Decimal(10_000) - Decimal("8000.50") + Decimal(3240)
    position = account.positions[("NSE:SBIN", "MIS")]
    assert (position.quantity, position.buy_value, position.sell_value) == (
        6,
        Decimal("8000.50"),
        Decimal(3240),
    )
