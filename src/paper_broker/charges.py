"""Zerodha's charges on an executed order, as an effective-dated schedule of data.

Rates are those of DESIGN.md section 8 (Zerodha's published schedule; NSE transaction charges
of 1 Oct 2024, since revised upwards slightly by NSE). Budget 2026 raised STT on futures and
options; its rows take effect on BUDGET_2026 (the start of the 2026-27 financial year; check the
date against the Finance Act). Charges change with budgets and exchange circulars: edit the
rows, not the code. All rates are fractions of turnover (premium turnover for options). The
paper market lists NSE and NFO instruments only, so the rates are NSE's (cash and F&O) alone.

Rounding, per executed order, half up: STT to the rupee (as Zerodha's contract notes and
brokerage calculator do); brokerage, exchange transaction charge, SEBI fee and stamp duty each
to the paisa; GST 18 % of the rounded brokerage + exchange charge + SEBI fee, to the paisa. The
total is the sum of the rounded parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .instruments import Instrument
from .kite_enums import DELIVERY_PRODUCTS

D = Decimal
OCT_2024 = date(2024, 10, 1)
BUDGET_2026 = date(2026, 4, 1)
SEBI_RATE = D("0.000001")  # ₹10 per crore of turnover
GST_RATE = D("0.18")  # on brokerage + exchange transaction charges + SEBI fee
RUPEE = D(1)
PAISA = D("0.01")


@dataclass(frozen=True, slots=True)
class Rates:
    brokerage: Decimal | None  # a fraction of turnover capped at `brokerage_cap`; None: flat cap
    brokerage_cap: Decimal
    stt_buy: Decimal
    stt_sell: Decimal
    exchange: Decimal
    stamp_buy: Decimal


_DELIVERY = Rates(D(0), D(0), D("0.001"), D("0.001"), D("0.0000297"), D("0.00015"))
_INTRADAY = Rates(D("0.0003"), D(20), D(0), D("0.00025"), D("0.0000297"), D("0.00003"))
_FUTURES = Rates(D("0.0003"), D(20), D(0), D("0.0002"), D("0.0000173"), D("0.00002"))
_OPTIONS = Rates(None, D(20), D(0), D("0.001"), D("0.0003503"), D("0.00003"))

# (segment, effective from, rates); the latest row not after the trade date applies.
SCHEDULE: tuple[tuple[str, date, Rates], ...] = (
    ("equity_delivery", OCT_2024, _DELIVERY),
    ("equity_intraday", OCT_2024, _INTRADAY),
    ("futures", OCT_2024, _FUTURES),
    (
        "futures",
        BUDGET_2026,
        Rates(D("0.0003"), D(20), D(0), D("0.0005"), D("0.0000173"), D("0.00002")),
    ),
    ("options", OCT_2024, _OPTIONS),
    ("options", BUDGET_2026, Rates(None, D(20), D(0), D("0.0015"), D("0.0003503"), D("0.00003"))),
)


def segment_of(instrument: Instrument, product: str) -> str:
    if instrument.is_equity:
        return "equity_delivery" if product in DELIVERY_PRODUCTS else "equity_intraday"
    return "options" if instrument.instrument_type in {"CE", "PE"} else "futures"


def rates_on(segment: str, day: date) -> Rates:
    rows = [(start, rates) for name, start, rates in SCHEDULE if name == segment and start <= day]
    if not rows:
        raise ValueError(f"no charges for {segment} on {day}")
    return max(rows, key=lambda row: row[0])[1]


def order_charges(
    instrument: Instrument, product: str, is_buy: bool, quantity: int, price: Decimal, day: date
) -> dict[str, Any]:
    """Kite's `charges` object for one executed order."""
    rates = rates_on(segment_of(instrument, product), day)
    turnover = quantity * price
    cap = rates.brokerage_cap
    brokerage = _paisa(cap if rates.brokerage is None else min(turnover * rates.brokerage, cap))
    stt = _rupee(turnover * (rates.stt_buy if is_buy else rates.stt_sell))
    exchange = _paisa(turnover * rates.exchange)
    sebi = _paisa(turnover * SEBI_RATE)
    stamp = _paisa(turnover * rates.stamp_buy if is_buy else D(0))
    gst = _paisa((brokerage + exchange + sebi) * GST_RATE)
    return {
        "transaction_tax": stt,
        "transaction_tax_type": "stt",
        "exchange_turnover_charge": exchange,
        "sebi_turnover_charge": sebi,
        "brokerage": brokerage,
        "stamp_duty": stamp,
        "gst": {"igst": gst, "cgst": 0, "sgst": 0, "total": gst},
        "total": brokerage + stt + exchange + sebi + stamp + gst,
    }


def add_charges(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several charges objects."""
    total: dict[str, Any] = {**empty_charges()}
    for item in items:
        for name, value in item.items():
            if name == "gst":
                total["gst"] = {key: total["gst"][key] + value[key] for key in value}
            elif name != "transaction_tax_type":
                total[name] += value
    return total


def empty_charges() -> dict[str, Any]:
    return {
        "transaction_tax": D(0),
        "transaction_tax_type": "stt",
        "exchange_turnover_charge": D(0),
        "sebi_turnover_charge": D(0),
        "brokerage": D(0),
        "stamp_duty": D(0),
        "gst": {"igst": D(0), "cgst": D(0), "sgst": D(0), "total": D(0)},
        "total": D(0),
    }


def _rupee(value: Decimal) -> Decimal:
    return value.quantize(RUPEE, ROUND_HALF_UP)


def _paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, ROUND_HALF_UP)
