"""Indian trading charges of an executed order: effective-dated schedules of data, pure Decimal.

A ``ChargeSchedule`` holds every rate in force from its ``effective_from`` (one complete schedule
per file in ``order_service/data/charges``); ``ChargeSchedules.on(day)`` picks the latest one not
after the trade date. Rates are fractions of turnover (premium turnover for options) or rupees.

Charges are computed per executed order: an order filled in several trades is one executed
order, so its quantities and turnovers (Σ quantity × price) are summed first. Rounding, half up:

- STT to the nearest rupee (Zerodha's contract notes and brokerage calculator round STT so);
- brokerage, exchange transaction charge, SEBI fee and stamp duty each to the paisa;
- GST: the schedule's rate (18 %) of the rounded brokerage + exchange transaction charge + SEBI
  fee, to the paisa;
- DP: the per-scrip charge times the distinct scrips sold from delivery on a day, plus GST on it,
  each to the paisa.

Not covered: currency and commodity segments (refused, never charged zero), and the STT of
exercised or assigned options. Products are exact and only the rounding above rounds: it runs
in a private decimal context, and a caller's context narrower than Python's default is set aside.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    localcontext,
)
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from order_service.errors import ValidationError


class Segment(StrEnum):
    """What a charge schedule prices separately."""

    EQUITY_DELIVERY = "equity_delivery"
    EQUITY_INTRADAY = "equity_intraday"
    FUTURES = "futures"
    OPTIONS = "options"


EQUITY_EXCHANGES = frozenset({"NSE", "BSE"})
DERIVATIVE_EXCHANGES = frozenset({"NFO", "BFO"})
UNSUPPORTED_SEGMENTS = {
    "CDS": "currency",
    "BCD": "currency",
    "MCX": "commodity",
    "NCO": "commodity",
}
DELIVERY_PRODUCTS = frozenset({"CNC", "MTF"})
INTRADAY_PRODUCTS = frozenset({"MIS", "CO", "BO"})
EQUITY_SEGMENTS = (Segment.EQUITY_DELIVERY, Segment.EQUITY_INTRADAY)
DERIVATIVE_SEGMENTS = (Segment.FUTURES, Segment.OPTIONS)
# Every schedule prices all of these, so each one stands on its own.
COVERED: frozenset[tuple[str, Segment]] = frozenset(
    [(exchange, segment) for exchange in EQUITY_EXCHANGES for segment in EQUITY_SEGMENTS]
    + [(exchange, segment) for exchange in DERIVATIVE_EXCHANGES for segment in DERIVATIVE_SEGMENTS]
)

RUPEE = Decimal(1)
PAISA = Decimal("0.01")
_NIL = Decimal(0)
_NO_PAISA = Decimal("0.00")
# Python's default precision: a turnover to the paisa below ₹10^18 times a rate of up to eight
# significant digits is exact in it, so only quantize rounds. Traps keep mistakes loud.
PRECISION = 28
_CONTEXT = Context(
    prec=PRECISION, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow]
)


def _paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, ROUND_HALF_UP, _CONTEXT)


def _shares(value: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """``value`` shared by ``weights`` to the paisa by the largest remainder: each share is its
    exact portion rounded down, and the paise that leaves go one each to the shares that lost
    the most (the later first, on a tie)."""
    whole = sum(weights)
    exact = [_CONTEXT.divide(_CONTEXT.multiply(value, weight), whole) for weight in weights]
    shares = [portion.quantize(PAISA, ROUND_FLOOR, _CONTEXT) for portion in exact]
    left = _CONTEXT.subtract(value, functools.reduce(_CONTEXT.add, shares, _NIL))
    paise = int(_CONTEXT.divide_int(left, PAISA))
    lost = sorted(
        range(len(shares)), key=lambda i: (_CONTEXT.subtract(exact[i], shares[i]), i), reverse=True
    )
    for index in lost[:paise]:
        shares[index] = _CONTEXT.add(shares[index], PAISA)
    # Below a paisa (a value of more places): to the share that lost the most and took no
    # paisa (there is one: the paise left are fewer than the shares), so it too stays within
    # a paisa of its portion.
    below = _CONTEXT.subtract(left, _CONTEXT.multiply(PAISA, paise))
    taker = lost[paise]
    shares[taker] = _CONTEXT.add(shares[taker], below)
    return shares


def segment_of(exchange: str, tradingsymbol: str, product: str) -> Segment:
    """Return the segment an order is charged in, refusing what no schedule prices."""
    if exchange in EQUITY_EXCHANGES:
        return _equity_segment(product)
    if exchange in DERIVATIVE_EXCHANGES:
        return _derivative_segment(tradingsymbol)
    kind = UNSUPPORTED_SEGMENTS.get(exchange)
    what = f"the {kind} segment ({exchange})" if kind else f"the unknown exchange {exchange!r}"
    raise ValidationError(
        f"charges for {what} are not supported yet",
        details={"field": "exchange", "exchange": exchange},
    )


def _equity_segment(product: str) -> Segment:
    if product in DELIVERY_PRODUCTS:
        return Segment.EQUITY_DELIVERY
    if product in INTRADAY_PRODUCTS:
        return Segment.EQUITY_INTRADAY
    raise ValidationError(
        f"equity product {product!r} has no charges: use CNC or MTF (delivery), MIS, CO or BO",
        details={"field": "product", "product": product},
    )


def _derivative_segment(tradingsymbol: str) -> Segment:
    if tradingsymbol.endswith("FUT"):
        return Segment.FUTURES
    if tradingsymbol.endswith(("CE", "PE")):
        return Segment.OPTIONS
    raise ValidationError(
        f"{tradingsymbol!r} is neither a future (…FUT) nor an option (…CE, …PE)",
        details={"field": "tradingsymbol", "tradingsymbol": tradingsymbol},
    )


@dataclass(frozen=True, slots=True)
class Charges:
    """What one executed order (or a day's DP debit) costs, part by part, in rupees."""

    brokerage: Decimal = _NIL
    stt: Decimal = _NIL
    exchange_transaction: Decimal = _NIL
    sebi_fee: Decimal = _NIL
    stamp_duty: Decimal = _NIL
    gst: Decimal = _NIL
    dp: Decimal = _NIL

    ZERO: ClassVar[Charges]

    @property
    def total(self) -> Decimal:
        """Return the sum of every part."""
        return (
            self.brokerage
            + self.stt
            + self.exchange_transaction
            + self.sebi_fee
            + self.stamp_duty
            + self.gst
            + self.dp
        )

    def __add__(self, other: Charges) -> Charges:
        if not isinstance(other, Charges):
            return NotImplemented
        return Charges(
            self.brokerage + other.brokerage,
            self.stt + other.stt,
            self.exchange_transaction + other.exchange_transaction,
            self.sebi_fee + other.sebi_fee,
            self.stamp_duty + other.stamp_duty,
            self.gst + other.gst,
            self.dp + other.dp,
        )

    @classmethod
    def sum(cls, items: Sequence[Charges]) -> Charges:
        """Return the charges of ``items`` together, part by part (as ``+`` would, at once)."""
        return cls(*(sum((getattr(c, name) for c in items), _NIL) for name in _PARTS))

    def shared(self, weights: Sequence[int]) -> list[Charges]:
        """Return these charges shared by ``weights`` (quantities: positive), part by part,
        each share within a paisa of its exact portion and never below zero for a part that
        is not, adding up to these charges exactly."""
        columns = [_shares(getattr(self, name), weights) for name in _PARTS]
        return [Charges(*parts) for parts in zip(*columns, strict=True)]

    def as_dict(self) -> dict[str, Decimal]:
        """Return every part by name, plus ``total`` (for API answers)."""
        parts = {part.name: getattr(self, part.name) for part in fields(self)}
        return {**parts, "total": self.total}


Charges.ZERO = Charges()
_PARTS = tuple(part.name for part in fields(Charges))


@dataclass(frozen=True, slots=True)
class Rates:
    """The rates of one (exchange, segment): fractions of turnover, amounts in rupees."""

    brokerage_rate: Decimal  # a fraction of turnover, at most brokerage_cap per executed order
    brokerage_cap: Decimal
    brokerage_flat: Decimal | None  # rupees per executed order instead of rate and cap
    stt_buy: Decimal
    stt_sell: Decimal
    exchange_transaction: Decimal
    stamp_duty_buy: Decimal


@dataclass(frozen=True, slots=True)
class ChargeSchedule:
    """Every rate in force from ``effective_from``; ``sources`` cites each rate's origin."""

    effective_from: date
    rates: Mapping[tuple[str, Segment], Rates]
    sebi: Decimal  # SEBI turnover fee, a fraction of turnover
    gst: Decimal  # on brokerage, exchange transaction charges, SEBI fee and DP charges
    dp: Decimal  # rupees per scrip per day sold from delivery, before GST
    sources: Mapping[str, str]

    def __post_init__(self) -> None:
        missing = sorted(f"{exchange} {segment}" for exchange, segment in COVERED - set(self.rates))
        if missing:
            raise ValueError(f"the schedule from {self.effective_from} lacks rates for {missing}")

    def rates_for(self, exchange: str, segment: Segment) -> Rates:
        """Return the rates of one (exchange, segment); every schedule has all of ``COVERED``."""
        return self.rates[exchange, segment]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ChargeSchedule:
        """Build a schedule from what a TOML file parses into; every number is a string."""
        _refuse_unknown(data, _SCHEDULE_KEYS, "the schedule")
        return cls(
            effective_from=_day(data.get("effective_from")),
            rates=MappingProxyType(_rate_table(_required(data, "rates", "rates"))),
            sebi=_number(data, "sebi_fee", "sebi_fee"),
            gst=_number(data, "gst", "gst"),
            dp=_paisa(_number(data, "dp_per_scrip", "dp_per_scrip")),
            sources=MappingProxyType(_sources(data.get("sources", {}))),
        )


class ChargeSchedules:
    """Several schedules: a trade is charged by the one in force on its date."""

    __slots__ = ("_schedules", "_starts")

    def __init__(self, schedules: Iterable[ChargeSchedule]) -> None:
        ordered = tuple(sorted(schedules, key=lambda schedule: schedule.effective_from))
        starts = tuple(schedule.effective_from for schedule in ordered)
        if not ordered:
            raise ValueError("give at least one charge schedule")
        if len(set(starts)) != len(starts):
            raise ValueError(f"two charge schedules start on the same day: {starts}")
        self._schedules = ordered
        self._starts = starts

    @property
    def schedules(self) -> tuple[ChargeSchedule, ...]:
        """Return the schedules, oldest first."""
        return self._schedules

    def on(self, day: date) -> ChargeSchedule:
        """Return the schedule with the latest ``effective_from`` not after ``day``."""
        index = bisect.bisect_right(self._starts, day) - 1
        if index < 0:
            raise ValidationError(
                f"no charge schedule covers {day.isoformat()}: the first starts on"
                f" {self._starts[0].isoformat()}",
                details={"field": "trade_date", "trade_date": day.isoformat()},
            )
        return self._schedules[index]


def order_charges(
    schedules: ChargeSchedules,
    exchange: str,
    tradingsymbol: str,
    product: str,
    is_buy: bool,
    quantity: int,
    turnover: Decimal,
    day: date,
) -> Charges:
    """Return the charges of one executed order: its summed quantity and turnover, on ``day``."""
    if quantity <= 0:
        raise ValueError(f"an executed order has a positive quantity, got {quantity}")
    if not turnover.is_finite() or turnover <= 0:
        raise ValueError(f"an executed order has a positive, finite turnover, got {turnover}")
    schedule = schedules.on(day)
    rates = schedule.rates[exchange, segment_of(exchange, tradingsymbol, product)]
    if getcontext().prec < PRECISION:  # a caller's narrower context would round the products
        with localcontext(_CONTEXT):
            return _priced(schedule, rates, is_buy, turnover)
    return _priced(schedule, rates, is_buy, turnover)


def _priced(schedule: ChargeSchedule, rates: Rates, is_buy: bool, turnover: Decimal) -> Charges:
    # The hot path: plain operators (their products are exact in the current context, checked
    # by the caller), one quantize per part in our context, no helper calls.
    brokerage = rates.brokerage_flat
    if brokerage is None:
        brokerage = min(turnover * rates.brokerage_rate, rates.brokerage_cap)
        brokerage = brokerage.quantize(PAISA, ROUND_HALF_UP, _CONTEXT)
    exchange = (turnover * rates.exchange_transaction).quantize(PAISA, ROUND_HALF_UP, _CONTEXT)
    sebi = (turnover * schedule.sebi).quantize(PAISA, ROUND_HALF_UP, _CONTEXT)
    if is_buy:
        stt = (turnover * rates.stt_buy).quantize(RUPEE, ROUND_HALF_UP, _CONTEXT)
        stamp = (turnover * rates.stamp_duty_buy).quantize(PAISA, ROUND_HALF_UP, _CONTEXT)
    else:
        stt = (turnover * rates.stt_sell).quantize(RUPEE, ROUND_HALF_UP, _CONTEXT)
        stamp = _NO_PAISA
    gst = ((brokerage + exchange + sebi) * schedule.gst).quantize(PAISA, ROUND_HALF_UP, _CONTEXT)
    return Charges(brokerage, stt, exchange, sebi, stamp, gst, _NO_PAISA)


def dp_charges(schedules: ChargeSchedules, day: date, scrips: int) -> Charges:
    """Return the DP charge, with its GST, of ``scrips`` scrips sold from CNC on ``day``."""
    if scrips < 0:
        raise ValueError(f"a day's DP debit counts scrips from zero up, got {scrips}")
    schedule = schedules.on(day)
    dp = _paisa(_CONTEXT.multiply(schedule.dp, Decimal(scrips)))
    return Charges(dp=dp, gst=_paisa(_CONTEXT.multiply(dp, schedule.gst)))


# Reading a schedule from a plain mapping (what a TOML file parses into).

_SCHEDULE_KEYS = frozenset(
    {"effective_from", "sebi_fee", "gst", "dp_per_scrip", "rates", "sources"}
)
_FLAT = "brokerage_flat"
_CAPPED = ("brokerage_rate", "brokerage_cap")
_RATE_NUMBERS = ("stt_buy", "stt_sell", "exchange_transaction", "stamp_duty_buy")
_RATE_KEYS = frozenset({_FLAT, *_CAPPED, *_RATE_NUMBERS})


def _rate_table(data: object) -> dict[tuple[str, Segment], Rates]:
    table: dict[tuple[str, Segment], Rates] = {}
    for exchange, segments in _table(data, "rates").items():
        for name, values in _table(segments, f"rates.{exchange}").items():
            key = f"rates.{exchange}.{name}"
            segment = _segment(name, key)
            table[exchange, segment] = _rates(_table(values, key), key)
    return table


def _rates(table: Mapping[str, object], key: str) -> Rates:
    _refuse_unknown(table, _RATE_KEYS, key)
    if _FLAT in table and any(name in table for name in _CAPPED):
        raise ValueError(f"{key}: give brokerage_flat, or brokerage_rate with brokerage_cap")
    if _FLAT in table:
        rate, cap, flat = _NIL, _NIL, _paisa(_number(table, _FLAT, f"{key}.{_FLAT}"))
    else:
        rate, cap = (_number(table, name, f"{key}.{name}") for name in _CAPPED)
        flat = None
    stt_buy, stt_sell, exchange, stamp = (
        _number(table, name, f"{key}.{name}") for name in _RATE_NUMBERS
    )
    return Rates(rate, cap, flat, stt_buy, stt_sell, exchange, stamp)


def _segment(name: str, key: str) -> Segment:
    try:
        return Segment(name)
    except ValueError as exc:
        known = ", ".join(Segment)
        raise ValueError(f"{key}: unknown segment {name!r} (known: {known})") from exc


def _number(table: Mapping[str, object], name: str, key: str) -> Decimal:
    value = _required(table, name, key)
    if not isinstance(value, str):
        raise ValueError(f"{key}: write the number as a string, not a {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{key}: {value!r} is not a number") from exc
    if not number.is_finite() or number.is_signed():
        raise ValueError(f"{key}: {value!r} is not a finite, non-negative number")
    return number


def _day(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"effective_from: {value!r} is not a date") from exc
    raise ValueError(f"effective_from: give a date, not {value!r}")


def _sources(data: object) -> dict[str, str]:
    table = _table(data, "sources")
    for name, text in table.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"sources.{name}: give the citation as text")
    return {name: str(text) for name, text in table.items()}


def _table(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"{key}: give a table of named entries")
    return value


def _required(table: Mapping[str, object], name: str, key: str) -> object:
    if name not in table:
        raise ValueError(f"{key}: missing")
    return table[name]


def _refuse_unknown(table: Mapping[str, object], known: frozenset[str], key: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"{key}: unknown keys {unknown}")
