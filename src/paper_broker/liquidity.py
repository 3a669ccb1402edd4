"""How much of an order the paper market fills per simulated second.

Each order may take up to `units_per_second` units in a second (orders do not compete for it):
about 500 shares of a stock, or 20 lots of a derivative, scaled by a deterministic factor
between 0.5 and 1.5 drawn from (seed, instrument, second). An order larger than that fills in
several trades over the following seconds.
"""

from __future__ import annotations

from .instruments import Instrument

EQUITY_UNITS_PER_SECOND = 500
DERIVATIVE_LOTS_PER_SECOND = 20
_MASK = (1 << 64) - 1


def _mix(value: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread hash of an integer."""
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK
    return value ^ (value >> 31)


def units_per_second(instrument: Instrument, second: int, seed: int) -> int:
    """Units (a whole number of lots) one order can trade in `second`."""
    lot = instrument.lot_size or 1
    base = EQUITY_UNITS_PER_SECOND if instrument.is_equity else lot * DERIVATIVE_LOTS_PER_SECOND
    draw = _mix(seed * 1_000_003 + instrument.instrument_token * 7_919 + second)
    units = base * (50 + draw % 101) // 100
    return max(lot, units // lot * lot)
