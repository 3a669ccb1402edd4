"""Positions from the fill ledger, field by field as Kite's position book shows them.

A position is one group's trades of one day on top of the quantity carried into it. At each
midnight IST the day rolls over as Kite's does: a CNC position leaves the book for holdings,
every other open position is carried as overnight quantity at its open-side average price, and
a flat one is dropped. Every figure is plain ``Decimal`` arithmetic in the default context, in
the order the broker's own book does it, so the two agree to the last digit.

A group must hold one instrument and product (the caller's key names at least the exchange,
tradingsymbol and product); the account view is computed from the account's own fills, never
summed from its strategies', because average-price realised P&L is not additive.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from order_service.domain.fill import Fill
from order_service.domain.tally import ZERO, Tally

IST = ZoneInfo("Asia/Kolkata")
# India has kept +05:30 all year since 1945: a UTC instant's IST date is one addition away,
# far cheaper than a zone conversion for every fill of a busy day.
_IST_OFFSET = timedelta(hours=5, minutes=30)
K = TypeVar("K", bound=Hashable)
Side = tuple[int, Decimal, Decimal]  # quantity, average price, value


def trade_date(fill: Fill) -> date:
    """The IST date the fill traded on (when it was recorded, if the exchange gave no time)."""
    return ist_date(_traded_at(fill))


def ist_date(at: datetime) -> date:
    """The IST calendar date of an aware instant."""
    if at.tzinfo is UTC:
        return (at + _IST_OFFSET).date()
    return at.astimezone(IST).date()


def _traded_at(fill: Fill) -> datetime:
    return fill.report.exchange_timestamp or fill.recorded_at


def dated(fills: Iterable[Fill], until: date) -> Iterator[tuple[date, Fill]]:
    """Yield the fills dated up to ``until`` with their trade dates, in the order they traded
    (the ledger's order among simultaneous ones)."""
    day_end = datetime.min.replace(tzinfo=UTC)
    on = date.min
    for fill in sorted(fills, key=_traded_at):
        at = _traded_at(fill)
        if at >= day_end:  # in time order, the date moves only at a midnight (one comparison)
            on = ist_date(at)
            if on > until:
                return
            # In UTC, as the ledger's instants are: comparing two zones costs far more.
            day_end = datetime.combine(on + timedelta(days=1), time(), IST).astimezone(UTC)
        yield on, fill


class MarkSource(StrEnum):
    """Where a mark came from: a quote, or the instrument's last fill when there was none."""

    QUOTE = "quote"
    LAST_FILL = "last_fill"


@dataclass(frozen=True, slots=True)
class Mark:
    """The prices an instrument is marked at."""

    last_price: Decimal
    close_price: Decimal
    source: MarkSource


MarkLookup = Callable[[str, str], Mark | None]  # (exchange, tradingsymbol) -> a quote, if any


@dataclass(frozen=True, slots=True)
class PositionView:
    """One row of Kite's ``net`` or ``day`` positions, and where its mark came from.

    The buy and sell totals come first (in Kite's order) because a view is built from them.
    """

    buy_quantity: int
    buy_price: Decimal
    buy_value: Decimal
    buy_m2m: Decimal
    sell_quantity: int
    sell_price: Decimal
    sell_value: Decimal
    sell_m2m: Decimal
    day_buy_quantity: int
    day_buy_price: Decimal
    day_buy_value: Decimal
    day_sell_quantity: int
    day_sell_price: Decimal
    day_sell_value: Decimal
    exchange: str
    tradingsymbol: str
    product: str
    quantity: int
    overnight_quantity: int
    multiplier: int
    average_price: Decimal
    close_price: Decimal
    last_price: Decimal
    value: Decimal
    pnl: Decimal
    m2m: Decimal
    unrealised: Decimal
    realised: Decimal
    mark_source: MarkSource


@dataclass(frozen=True, slots=True)
class PositionPair:
    """A group's row in Kite's ``net`` array and, if it traded on the day, in its ``day`` array."""

    net: PositionView
    day: PositionView | None


def position_book(
    fills: Iterable[Fill], day: date, group: Callable[[Fill], K], marks: MarkLookup
) -> dict[K, PositionPair]:
    """Return the position book of ``day``: each group that traded on it or carried into it."""
    tallies = tally_fills(fills, day, group, carries_cnc=False, bank_from=date.max)
    book = MarkBook(marks, tallies.values())
    pairs: dict[K, PositionPair] = {}
    for key, tally in tallies.items():
        traded = tally.traded_on == day
        if traded or tally.overnight_quantity:
            mark = book.of(tally.exchange, tally.tradingsymbol)
            net = _view(tally, mark, tally.overnight_quantity)
            pairs[key] = PositionPair(net, _view(tally, mark, 0) if traded else None)
    return pairs


def tally_fills(
    fills: Iterable[Fill],
    until: date,
    group: Callable[[Fill], K],
    *,
    carries_cnc: bool,
    bank_from: date,
) -> dict[K, Tally]:
    """Run the fills dated up to ``until`` (in time order) into one tally per group.

    Every tally is rolled over to ``until``; ``traded_on`` keeps the date of its last fill.
    """
    run = TallyRun(until, group, carries_cnc=carries_cnc, bank_from=bank_from)
    run.extend(fills)
    return run.rolled(copies=False)


class TallyRun(Generic[K]):
    """``tally_fills``, resumable: fed more fills later, it goes on from where it stopped.

    A book asked again after one new fill costs that fill, not the day's fills again. It
    can go on only while the new fills traded no earlier than the last one fed (the usual
    case: the ledger grows at the end of the day); ``extend`` says when it cannot, and the
    caller starts a new run.
    """

    __slots__ = (
        "_bank_from",
        "_carries_cnc",
        "_day_end",
        "_group",
        "_index",
        "_last_at",
        "_on",
        "_tallies",
        "until",
    )

    def __init__(
        self, until: date, group: Callable[[Fill], K], *, carries_cnc: bool, bank_from: date
    ) -> None:
        self.until = until
        self._group = group
        self._carries_cnc = carries_cnc
        self._bank_from = bank_from
        self._tallies: dict[K, Tally] = {}
        self._index = 0
        self._last_at = datetime.min.replace(tzinfo=UTC)
        self._day_end = self._last_at
        self._on = date.min

    def extend(self, fills: Iterable[Fill]) -> bool:
        """Feed the fills dated up to ``until``; return False, feeding none, if one of them
        traded before a fill already fed (then only a new run gets the order right)."""
        ordered = sorted(fills, key=_traded_at)
        if ordered and _traded_at(ordered[0]) < self._last_at:
            return False
        for fill in ordered:
            if not self._feed(fill):
                break
        return True

    def _feed(self, fill: Fill) -> bool:
        at = _traded_at(fill)
        if at >= self._day_end:  # in time order, the date moves only at a midnight
            self._on = ist_date(at)
            if self._on > self.until:
                return False
            # In UTC, as the ledger's instants are: comparing two zones costs far more.
            next_day = datetime.combine(self._on + timedelta(days=1), time(), IST)
            self._day_end = next_day.astimezone(UTC)
        on = self._on
        tally = self._tallies.get(key := self._group(fill))
        if tally is None:
            report = fill.report
            tally = Tally(
                report.exchange, report.tradingsymbol, report.product, on, self._bank_from, on
            )
            self._tallies[key] = tally
        elif tally.day != on:
            tally.roll(on, self._carries_cnc)
            tally.traded_on = on
        tally.add(fill.report, self._index)
        self._index += 1
        self._last_at = at
        return True

    def rolled(self, *, copies: bool = True) -> dict[K, Tally]:
        """The tallies rolled over to ``until``: copies, so the run can go on (``copies``
        False hands over its own, for a run that ends here)."""
        tallies = {k: copy(t) for k, t in self._tallies.items()} if copies else self._tallies
        for tally in tallies.values():
            if tally.day != self.until:
                tally.roll(self.until, self._carries_cnc)
        return tallies


class Traded(Protocol):
    """What a mark falls back on: a group's instrument and its latest fill."""

    @property
    def exchange(self) -> str: ...
    @property
    def tradingsymbol(self) -> str: ...
    @property
    def last_price(self) -> Decimal: ...
    @property
    def last_index(self) -> int: ...


class MarkBook:
    """The marks of a book's instruments: the caller's quote, else the instrument's last fill."""

    __slots__ = ("_latest", "_lookup", "_marks")

    def __init__(self, lookup: MarkLookup, traded: Iterable[Traded]) -> None:
        self._lookup = lookup
        self._marks: dict[tuple[str, str], Mark] = {}
        self._latest: dict[tuple[str, str], tuple[int, Decimal]] = {}
        for item in traded:
            instrument = (item.exchange, item.tradingsymbol)
            seen = self._latest.get(instrument)
            if seen is None or item.last_index > seen[0]:
                self._latest[instrument] = (item.last_index, item.last_price)

    def of(self, exchange: str, tradingsymbol: str) -> Mark:
        """Return the instrument's mark, asking the caller once."""
        instrument = (exchange, tradingsymbol)
        mark = self._marks.get(instrument)
        if mark is None:
            mark = self._lookup(exchange, tradingsymbol)
            if mark is None:
                price = self._latest[instrument][1]
                mark = Mark(price, price, MarkSource.LAST_FILL)
            self._marks[instrument] = mark
        return mark


def _view(tally: Tally, mark: Mark, overnight: int) -> PositionView:
    """The ``net`` view (``overnight`` is the carried quantity) or, with 0, the ``day`` view."""
    totals = tally.totals(overnight)
    quantity = overnight + tally.day_quantity
    pnl = totals.value + quantity * mark.last_price
    realised = totals.realised()
    return PositionView(
        *_side(*totals.buys),
        totals.buy_value,  # buy_m2m and sell_m2m: the values, as the broker's book has them
        *_side(*totals.sells),
        totals.sell_value,
        *_side(tally.buy_quantity, tally.buy_value),
        *_side(tally.sell_quantity, tally.sell_value),
        exchange=tally.exchange,
        tradingsymbol=tally.tradingsymbol,
        product=tally.product,
        quantity=quantity,
        overnight_quantity=overnight,
        multiplier=1,
        average_price=totals.open_average(quantity),
        close_price=mark.close_price,
        last_price=mark.last_price,
        value=totals.value,
        pnl=pnl,
        # Marked to market against the close price for what was carried in.
        m2m=tally.day_value + (quantity * mark.last_price - overnight * mark.close_price),
        unrealised=pnl - realised,
        realised=realised,
        mark_source=mark.source,
    )


def _side(quantity: int, value: Decimal) -> Side:
    return quantity, value / quantity if quantity else ZERO, value
