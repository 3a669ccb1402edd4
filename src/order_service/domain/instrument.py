"""The instrument master: what can be traded, with its lot, tick, expiry and freeze quantity.

The broker's instruments list (Kite's ``/instruments`` CSV) names every tradable instrument
with its lot size and tick size. Kite's list has no freeze quantity (the most one order may
hold, above which the exchange refuses it): for NSE's index derivatives it comes from a
shipped, dated data file (``FreezeLimits``), by underlying.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from order_service.domain.reports import FillReport
from order_service.errors import InvalidSymbolError

# Kite slices an autoslice order into at most this many orders (KITE.md 5.2, from 1 Apr 2026).
MAX_SLICES = 10


@dataclass(frozen=True, slots=True)
class Instrument:
    exchange: str
    tradingsymbol: str
    instrument_token: int
    name: str  # the underlying's name for derivatives ("NIFTY"), the company's for equity
    instrument_type: str  # EQ, FUT, CE, PE (and Kite's others)
    segment: str  # NSE, NFO-FUT, NFO-OPT, INDICES, ...
    tick_size: Decimal
    lot_size: int
    expiry: date | None = None
    strike: Decimal | None = None
    freeze_quantity: int | None = None  # None: no freeze limit known

    @property
    def key(self) -> tuple[str, str]:
        return self.exchange, self.tradingsymbol

    @property
    def is_future(self) -> bool:
        return self.instrument_type == "FUT"

    @property
    def is_derivative(self) -> bool:
        return self.instrument_type in {"FUT", "CE", "PE"}

    def is_on_tick(self, price: Decimal) -> bool:
        return self.tick_size > 0 and price % self.tick_size == 0

    def is_whole_lots(self, quantity: int) -> bool:
        return self.lot_size > 0 and quantity % self.lot_size == 0

    def slices(self, quantity: int) -> list[int]:
        """The quantities Kite's autoslice splits ``quantity`` into: full freeze quantities, then
        the rest (one slice when there is no freeze limit or the quantity is within it)."""
        freeze = self.freeze_quantity
        if not freeze or quantity <= freeze:
            return [quantity]
        whole, rest = divmod(quantity, freeze)
        return [freeze] * whole + ([rest] if rest else [])


@dataclass(frozen=True, slots=True)
class FreezeLimits:
    """The exchange's freeze quantities in force from ``effective_from``, by (exchange of the
    derivative, underlying name); ``source`` cites where they come from."""

    effective_from: date
    source: str
    limits: Mapping[tuple[str, str], int]

    def of(self, instrument: Instrument) -> int | None:
        if not instrument.is_derivative:
            return None
        return self.limits.get((instrument.exchange, instrument.name))


def with_freeze_limits(
    instruments: Iterable[Instrument], limits: FreezeLimits | None
) -> Iterator[Instrument]:
    """The instruments, each with the freeze quantity the limits give it (if the broker's list
    gave none)."""
    for instrument in instruments:
        freeze = limits.of(instrument) if limits is not None else None
        if instrument.freeze_quantity is None and freeze is not None:
            yield replace(instrument, freeze_quantity=freeze)
        else:
            yield instrument


class InstrumentMaster:
    """Every instrument of one load of the broker's list, looked up in memory."""

    __slots__ = ("_by_key", "loaded_at")

    def __init__(self, instruments: Iterable[Instrument], loaded_at: datetime | None) -> None:
        self._by_key = {instrument.key: instrument for instrument in instruments}
        self.loaded_at = loaded_at

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_key.values())

    @property
    def is_loaded(self) -> bool:
        return self.loaded_at is not None

    def get(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        return self._by_key.get((exchange, tradingsymbol))

    def require(self, exchange: str, tradingsymbol: str) -> Instrument:
        """The instrument, or ``InvalidSymbolError`` naming what the master does not hold."""
        found = self._by_key.get((exchange, tradingsymbol))
        if found is None:
            raise InvalidSymbolError(
                f"{exchange}:{tradingsymbol} is not in the instrument master",
                details={"exchange": exchange, "tradingsymbol": tradingsymbol},
            )
        return found


def fill_refusal(master: InstrumentMaster, report: FillReport) -> str | None:
    """Why a loaded master says this fill cannot be (None when it can): an instrument it does
    not hold, a price off the tick, a derivative's quantity that is not whole lots."""
    instrument = master.get(report.exchange, report.tradingsymbol)
    if instrument is None:
        return "the instrument is not in the instrument master"
    if instrument.tick_size > 0 and not instrument.is_on_tick(report.price):
        return f"price {report.price} is not a multiple of the tick {instrument.tick_size}"
    if instrument.is_derivative and not instrument.is_whole_lots(report.quantity):
        return f"quantity {report.quantity} is not a whole number of lots of {instrument.lot_size}"
    return None
