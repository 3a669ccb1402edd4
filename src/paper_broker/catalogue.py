"""The built-in instruments: NSE stocks, NIFTY/BANKNIFTY indices, futures and options."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .clock import monthly_expiries
from .instruments import Catalogue, Instrument
from .kite_enums import ExchangeCode

TICK = Decimal("0.05")
STRIKES_EACH_SIDE = 2
# Option tokens are not public knowledge; these are in NFO's token space (segment byte 2).
NFO_SEGMENT_BYTE = 2

_EQUITIES = (
    # tradingsymbol, name, instrument_token (Kite's NSE tokens), reference price, ISIN
    ("INFY", "INFOSYS", 408065, "1580.00", "INE009A01021"),
    ("RELIANCE", "RELIANCE INDUSTRIES", 738561, "1510.00", "INE002A01018"),
    ("TCS", "TATA CONSULTANCY SERV LT", 2953217, "3150.00", "INE467B01029"),
    ("SBIN", "STATE BANK OF INDIA", 779521, "965.00", "INE062A01020"),
    ("HDFCBANK", "HDFC BANK", 341249, "1005.00", "INE040A01034"),
)


@dataclass(frozen=True)
class _Underlying:
    name: str
    index_symbol: str
    index_token: int
    spot: Decimal
    lot_size: int
    freeze_quantity: int
    strike_step: int
    token_base: int


_UNDERLYINGS = (
    _Underlying("NIFTY", "NIFTY 50", 256265, Decimal("26150"), 75, 1800, 50, 40000),
    _Underlying("BANKNIFTY", "NIFTY BANK", 260105, Decimal("59400"), 35, 600, 100, 41000),
)


def build_catalogue(today: date) -> Catalogue:
    """Instruments valid on `today`: stocks, indices, and two monthly expiries of F&O."""
    items = [_equity(*row) for row in _EQUITIES]
    expiries = monthly_expiries(today)
    for underlying in _UNDERLYINGS:
        items.append(_index(underlying))
        for slot, expiry in enumerate(expiries):
            items.extend(_derivatives(underlying, expiry, slot, today))
    return Catalogue(items)


def _equity(symbol: str, name: str, token: int, price: str, isin: str) -> Instrument:
    return Instrument(
        instrument_token=token,
        tradingsymbol=symbol,
        name=name,
        exchange=ExchangeCode.NSE,
        # NSE's cash segment bears the exchange's name.
        segment=ExchangeCode.NSE,
        instrument_type="EQ",
        tick_size=TICK,
        lot_size=1,
        base_price=Decimal(price),
        isin=isin,
    )


def _index(underlying: _Underlying) -> Instrument:
    return Instrument(
        instrument_token=underlying.index_token,
        tradingsymbol=underlying.index_symbol,
        name=underlying.index_symbol,
        exchange=ExchangeCode.NSE,
        segment="INDICES",
        instrument_type="EQ",
        tick_size=Decimal(0),
        lot_size=0,
        base_price=underlying.spot,
    )


def _derivatives(underlying: _Underlying, expiry: date, slot: int, today: date) -> list[Instrument]:
    prefix = f"{underlying.name}{expiry:%y}{expiry:%b}".upper()
    token = underlying.token_base + slot * 100
    items = [_future(underlying, expiry, prefix, token)]
    atm = int(underlying.spot) // underlying.strike_step * underlying.strike_step
    years = max((expiry - today).days, 1) / 365
    offsets = range(-STRIKES_EACH_SIDE, STRIKES_EACH_SIDE + 1)
    for number, offset in enumerate(offsets):
        strike = atm + offset * underlying.strike_step
        for kind_index, kind in enumerate(("CE", "PE")):
            option_token = token + 1 + number * 2 + kind_index
            items.append(_option(underlying, expiry, prefix, option_token, strike, kind, years))
    return items


def _future(underlying: _Underlying, expiry: date, prefix: str, token: int) -> Instrument:
    return Instrument(
        instrument_token=token << 8 | NFO_SEGMENT_BYTE,
        tradingsymbol=f"{prefix}FUT",
        name=underlying.name,
        exchange=ExchangeCode.NFO,
        segment="NFO-FUT",
        instrument_type="FUT",
        tick_size=TICK,
        lot_size=underlying.lot_size,
        base_price=underlying.spot + underlying.spot * Decimal("0.004"),
        expiry=expiry,
        freeze_quantity=underlying.freeze_quantity,
        underlying=underlying.name,
    )


def _option(
    underlying: _Underlying,
    expiry: date,
    prefix: str,
    token: int,
    strike: int,
    kind: str,
    years: float,
) -> Instrument:
    return Instrument(
        instrument_token=token << 8 | NFO_SEGMENT_BYTE,
        tradingsymbol=f"{prefix}{strike}{kind}",
        name=underlying.name,
        exchange=ExchangeCode.NFO,
        segment="NFO-OPT",
        instrument_type=kind,
        tick_size=TICK,
        lot_size=underlying.lot_size,
        base_price=_option_price(underlying.spot, Decimal(strike), kind, years),
        expiry=expiry,
        strike=Decimal(strike),
        freeze_quantity=underlying.freeze_quantity,
        underlying=underlying.name,
    )


def _option_price(spot: Decimal, strike: Decimal, kind: str, years: float) -> Decimal:
    # Intrinsic value plus a rough time value (about 0.4 * sigma * sqrt(T) * spot at 13 % vol);
    # only a plausible starting point for the random walk, not a pricing model.
    intrinsic = max(spot - strike, Decimal(0)) if kind == "CE" else max(strike - spot, Decimal(0))
    time_value = Decimal(str(round(0.4 * 0.13 * math.sqrt(years) * float(spot), 2)))
    return ((intrinsic + time_value) / TICK).to_integral_value() * TICK
