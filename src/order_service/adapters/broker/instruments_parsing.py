"""Kite's instruments CSV into instruments, with exact numbers.

The SDK's own ``instruments()`` casts tick sizes and strikes to float; we read the CSV it would
have parsed and keep every number a ``Decimal`` (``finite_decimal``: NaN, infinities refused).
A row that no instrument can be (a tick or lot below zero, a token that is not a whole number,
a date that is not one) is left out and named, never loaded as zeros; a list without Kite's
columns is ``DataFormatError``.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import InvalidOperation

from order_service.adapters.broker.parsing import UnreadableRow, finite_decimal, whole
from order_service.domain.instrument import Instrument
from order_service.errors import DataFormatError

COLUMNS = frozenset(
    {
        "instrument_token",
        "tradingsymbol",
        "name",
        "expiry",
        "strike",
        "tick_size",
        "lot_size",
        "instrument_type",
        "segment",
        "exchange",
    }
)
_MALFORMED = (KeyError, TypeError, ValueError, InvalidOperation)


def instrument_list(body: bytes | str) -> tuple[list[Instrument], list[UnreadableRow]]:
    """Parse the CSV: the instruments, and the rows left out (with why)."""
    text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    reader = csv.DictReader(io.StringIO(text))
    missing = COLUMNS - set(reader.fieldnames or ())
    if missing:
        raise DataFormatError(
            "the broker sent an instruments list without Kite's columns",
            details={"missing": sorted(missing)},
        )
    instruments: list[Instrument] = []
    skipped: list[UnreadableRow] = []
    for row in reader:
        try:
            instruments.append(_instrument(row))
        except _MALFORMED as exc:
            skipped.append(UnreadableRow(f"instrument {row.get('tradingsymbol')!r}: {exc}"))
    return instruments, skipped


def _instrument(row: dict[str, str]) -> Instrument:
    exchange, tradingsymbol = row["exchange"].strip(), row["tradingsymbol"].strip()
    if not exchange or not tradingsymbol:
        raise ValueError("no exchange or tradingsymbol")
    tick_size, lot_size = finite_decimal(row["tick_size"]), whole(row["lot_size"])
    if tick_size < 0 or lot_size < 0:
        raise ValueError(f"tick {tick_size}, lot {lot_size}")
    strike = finite_decimal(row["strike"] or "0")
    if strike < 0:
        raise ValueError(f"strike {strike}")
    expiry = row["expiry"].strip()
    return Instrument(
        exchange=exchange,
        tradingsymbol=tradingsymbol,
        instrument_token=whole(row["instrument_token"]),
        name=row["name"].strip(),
        instrument_type=row["instrument_type"].strip(),
        segment=row["segment"].strip(),
        tick_size=tick_size,
        lot_size=lot_size,
        expiry=date.fromisoformat(expiry) if expiry else None,
        strike=strike if strike else None,
    )
