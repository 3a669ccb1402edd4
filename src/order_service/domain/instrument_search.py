"""Searching the instrument master: by the start of a trading symbol or by a name, narrowed by
exchange, segment, type and expiry, in memory and without a scan of the whole list per query.

An index is built once per master (two sorted lists: by symbol, and by name then symbol); a
query walks each from where its text begins and stops at the end of the matches or once it has
``limit`` instruments, so its cost follows the page, not the master's size. The text matches the
start of a trading symbol ("NIFTY26DEC") or a whole name ("INFOSYS", "NIFTY"). Results are in
symbol order, each instrument once; ``after`` (the last exchange and symbol of a page) continues.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from order_service.domain.instrument import Instrument, InstrumentMaster

MAX_RESULTS = 100


@dataclass(frozen=True, slots=True)
class InstrumentQuery:
    text: str = ""  # the start of a trading symbol, or a whole name; any case
    exchange: str | None = None
    segment: str | None = None
    instrument_type: str | None = None
    expiry: date | None = None
    after: tuple[str, str] | None = None  # the last (exchange, symbol) of the page before
    limit: int = 50

    def admits(self, instrument: Instrument) -> bool:
        return (
            (self.exchange is None or instrument.exchange == self.exchange)
            and (self.segment is None or instrument.segment == self.segment)
            and (self.instrument_type is None or instrument.instrument_type == self.instrument_type)
            and (self.expiry is None or instrument.expiry == self.expiry)
        )


class InstrumentIndex:
    """The master's instruments sorted by symbol, and by name then symbol, for searches."""

    __slots__ = ("_by_name", "_by_symbol", "master")

    def __init__(self, master: InstrumentMaster) -> None:
        self.master = master
        self._by_symbol = sorted((_order(i), i) for i in master)
        self._by_name = sorted(((i.name.upper(), *_order(i)), i) for i in master)

    def search(self, query: InstrumentQuery) -> list[Instrument]:
        """Up to ``query.limit`` instruments whose symbol begins with the text or whose name
        is the text, in symbol order, after ``query.after``."""
        text = query.text.strip().upper()
        after = _after(query.after) if query.after is not None else ("", "")
        by_symbol = self._walk(self._by_symbol, max((text, ""), after), text, query, after)
        by_name = self._walk(self._by_name, (text, *after), text, query, after) if text else []
        merged = {_order(i): i for i in (*by_symbol, *by_name)}
        return [merged[key] for key in sorted(merged)][: query.limit]

    @staticmethod
    def _walk(
        entries: Sequence[tuple[tuple[str, ...], Instrument]],
        start: tuple[str, ...],
        text: str,
        query: InstrumentQuery,
        after: tuple[str, str],
    ) -> list[Instrument]:
        """Up to ``limit`` admitted instruments from ``start`` while the entry's first part
        begins with (a symbol) or is (a name: the entries of one name) the text."""
        found: list[Instrument] = []
        for index in range(bisect_left(entries, (start,)), len(entries)):
            key, instrument = entries[index]
            if not key[0].startswith(text) or (len(key) == 3 and key[0] != text):
                break
            if _order(instrument) > after and query.admits(instrument):
                found.append(instrument)
                if len(found) >= query.limit:
                    break
        return found


def _order(instrument: Instrument) -> tuple[str, str]:
    """Where an instrument stands in results: by symbol, then exchange."""
    return instrument.tradingsymbol.upper(), instrument.exchange


def _after(key: tuple[str, str]) -> tuple[str, str]:
    exchange, symbol = key
    return symbol.upper(), exchange
