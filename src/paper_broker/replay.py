"""Recorded prices to replay: a CSV of `timestamp,instrument,price` rows, one tape per instrument.

While the clock is inside an instrument's tape (from its first row to its last), the price is the
last row at or before the second; outside it the seeded walk moves the price (see prices.py).
Rows are checked when the broker starts; a bad one stops it with an error naming its line.
"""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from .clock import parse_moment
from .errors import ConfigError
from .instruments import Catalogue, Instrument
from .validation import MAX_PRICE

HEADER = ["timestamp", "instrument", "price"]
DEFAULT_TICK = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Tape:
    """One instrument's replayed prices in ticks, at strictly increasing epoch seconds."""

    seconds: tuple[int, ...]
    ticks: tuple[int, ...]

    def price_at(self, second: int) -> int | None:
        """The replayed price at `second`, or None outside the tape."""
        if second > self.seconds[-1]:
            return None
        index = bisect_right(self.seconds, second) - 1
        return self.ticks[index] if index >= 0 else None

    def last_between(self, after: int | None, until: int) -> int | None:
        """The price of the last row in (after, until] (None: no bound below), if there is one."""
        index = bisect_right(self.seconds, until) - 1
        if index < 0 or (after is not None and self.seconds[index] <= after):
            return None
        return self.ticks[index]


def tick_size(instrument: Instrument) -> Decimal:
    return instrument.tick_size if instrument.tick_size else DEFAULT_TICK


def load_tapes(path: Path, catalogue: Catalogue) -> dict[int, Tape]:
    """Read and check a replay file; the tapes are keyed by instrument token."""
    try:
        # utf-8-sig: spreadsheets often start a CSV with a byte order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = _read(path, handle, catalogue)
    except OSError as exc:
        raise ConfigError(f"Cannot read the price replay file {path}: {exc.strerror}.") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"The price replay file {path} is not a UTF-8 CSV: {exc}.") from exc
    return {token: _tape(moments) for token, moments in rows.items()}


def _read(
    path: Path, handle: TextIO, catalogue: Catalogue
) -> dict[int, list[tuple[datetime, int]]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or [cell.strip() for cell in header] != HEADER:
        raise _error(path, 1, f"the header must be {','.join(HEADER)}")
    rows: dict[int, list[tuple[datetime, int]]] = {}
    for cells in reader:
        if not cells:
            continue
        line = reader.line_num
        instrument, moment, ticks = _row(path, line, cells, catalogue)
        tape = rows.setdefault(instrument.instrument_token, [])
        if tape and moment <= tape[-1][0]:
            raise _error(
                path,
                line,
                f"{moment.isoformat()} is not after the previous row of {instrument.key}",
            )
        tape.append((moment, ticks))
    return rows


def _row(
    path: Path, line: int, cells: list[str], catalogue: Catalogue
) -> tuple[Instrument, datetime, int]:
    if len(cells) != len(HEADER):
        raise _error(path, line, f"expected {len(HEADER)} columns, found {len(cells)}")
    raw_time, key, raw_price = (cell.strip() for cell in cells)
    instrument = catalogue.by_key(key)
    if instrument is None:
        raise _error(path, line, f"unknown instrument {key!r}")
    try:
        moment = parse_moment(raw_time)
    except ValueError as exc:
        raise _error(path, line, f"unparseable timestamp {raw_time!r}") from exc
    return instrument, moment, _ticks(path, line, raw_price, tick_size(instrument))


def _ticks(path: Path, line: int, raw: str, tick: Decimal) -> int:
    try:
        price = Decimal(raw)
    except InvalidOperation as exc:
        raise _error(path, line, f"unparseable price {raw!r}") from exc
    if not price.is_finite() or not 0 < price < MAX_PRICE:
        raise _error(path, line, f"the price {raw!r} is out of range")
    if price % tick:
        raise _error(path, line, f"the price {raw} is not a multiple of the tick size {tick}")
    return int(price / tick)


def _tape(moments: list[tuple[datetime, int]]) -> Tape:
    # Steps are whole seconds: of several rows inside one second, the last one stands.
    by_second = {math.floor(moment.timestamp()): ticks for moment, ticks in moments}
    return Tape(seconds=tuple(by_second), ticks=tuple(by_second.values()))


def _error(path: Path, line: int, reason: str) -> ConfigError:
    return ConfigError(f"Price replay file {path}, line {line}: {reason}.")
