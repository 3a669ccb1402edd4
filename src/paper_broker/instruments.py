"""Instruments: the tradable things, looked up by `EXCHANGE:SYMBOL` or token, dumped as Kite CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .kite_enums import EQUITY_EXCHANGES

CSV_COLUMNS = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)


@dataclass(frozen=True, slots=True)
class Instrument:
    instrument_token: int
    tradingsymbol: str
    name: str
    exchange: str
    segment: str
    instrument_type: str
    tick_size: Decimal
    lot_size: int
    base_price: Decimal
    expiry: date | None = None
    strike: Decimal = Decimal(0)
    freeze_quantity: int = 0
    underlying: str = ""
    isin: str = ""

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def exchange_token(self) -> int:
        return self.instrument_token >> 8

    @property
    def is_tradable(self) -> bool:
        return self.segment != "INDICES"

    @property
    def is_equity(self) -> bool:
        return self.exchange in EQUITY_EXCHANGES

    def csv_row(self, last_price: Decimal) -> tuple[object, ...]:
        return (
            self.instrument_token,
            self.exchange_token,
            self.tradingsymbol,
            self.name,
            last_price,
            self.expiry.isoformat() if self.expiry else "",
            self.strike,
            self.tick_size,
            self.lot_size,
            self.instrument_type,
            self.segment,
            self.exchange,
        )


class Catalogue:
    """All instruments of the paper market, indexed for O(1) lookups."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_key = {item.key: item for item in instruments}
        self._by_token = {item.instrument_token: item for item in self._by_key.values()}

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def find(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        return self._by_key.get(f"{exchange}:{tradingsymbol}")

    def by_key(self, key: str) -> Instrument | None:
        return self._by_key.get(key)

    def by_token(self, token: int) -> Instrument | None:
        return self._by_token.get(token)

    def on_exchange(self, exchange: str | None) -> list[Instrument]:
        items = self._by_key.values()
        return [item for item in items if exchange is None or item.exchange == exchange]


def render_csv(rows: Iterable[tuple[object, ...]]) -> str:
    """Kite's instrument dump: a header of the 12 columns, then one line per instrument."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()
