"""Quotes, last prices and OHLC for every client of the service, from one shared cache within
Kite's quote limit: the three routes answer from the same quotes, so asking for an
instrument's last price right after its quote costs no second broker call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from order_service.bootstrap import Services
from order_service.domain.account import Principal
from order_service.domain.ids import AccountId
from order_service.domain.reports import QuoteReport
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.services.market_data import MAX_PRICES

router = APIRouter(prefix="/api/v1", tags=["market data"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 502, 503)
}
T = TypeVar("T")
Name = Annotated[str, Field(pattern=r"^[A-Z]{2,6}:[A-Za-z0-9 &._\-]{1,40}$")]


AccountParam = Annotated[str, Query(min_length=1, max_length=64)]


class Ohlc(BaseModel):
    open: Decimal | None = Field(description="the day's first traded price")
    high: Decimal | None
    low: Decimal | None
    close: Decimal = Field(description="the previous session's close")


class Aged(BaseModel):
    as_of: datetime = Field(description="when the quote was read from the broker")
    age_seconds: float = Field(description="how old the quote was when answered")


class QuoteOut(Aged):
    last_price: Decimal
    close_price: Decimal = Field(description="the previous session's close")
    lower_circuit: Decimal | None = Field(description="the day's lowest allowed price")
    upper_circuit: Decimal | None = Field(description="the day's highest allowed price")
    ohlc: Ohlc
    volume: int | None = Field(description="the day's traded quantity")


class LtpOut(Aged):
    last_price: Decimal


class OhlcOut(Aged):
    last_price: Decimal
    ohlc: Ohlc


class QuotesOut(BaseModel):
    items: dict[str, QuoteOut]
    missing: list[str] = Field(description="instruments the broker has no quote of")


class LtpsOut(BaseModel):
    items: dict[str, LtpOut]
    missing: list[str] = Field(description="instruments the broker has no quote of")


class OhlcsOut(BaseModel):
    items: dict[str, OhlcOut]
    missing: list[str] = Field(description="instruments the broker has no quote of")


@router.get("/quotes", response_model=QuotesOut, responses=ERRORS)
async def quotes(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam,
    i: Annotated[list[Name], Query(min_length=1, max_length=MAX_PRICES)],
) -> QuotesOut:
    """The last price, previous close, circuit limits, OHLC and volume of each ``i``
    (``EXCHANGE:SYMBOL``, repeated, at most 1,000: read 500 to a broker call, Kite's most),
    read with ``account_id``'s session; a quote younger than ``QUOTE_CACHE_SECONDS`` is shared
    by every client that asks."""
    items, missing = await _read(services, principal, account_id, i, _quote)
    return QuotesOut(items=items, missing=missing)


@router.get("/ltp", response_model=LtpsOut, responses=ERRORS)
async def ltp(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam,
    i: Annotated[list[Name], Query(min_length=1, max_length=MAX_PRICES)],
) -> LtpsOut:
    """The last price of each ``i`` (at most 1,000, as Kite's ``ltp``), from the quotes
    every client shares (read 500 to a broker call)."""
    items, missing = await _read(services, principal, account_id, i, _ltp)
    return LtpsOut(items=items, missing=missing)


@router.get("/ohlc", response_model=OhlcsOut, responses=ERRORS)
async def ohlc(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: AccountParam,
    i: Annotated[list[Name], Query(min_length=1, max_length=MAX_PRICES)],
) -> OhlcsOut:
    """The last price and the day's OHLC of each ``i`` (at most 1,000, as Kite's ``ohlc``),
    from the quotes every client shares."""
    items, missing = await _read(services, principal, account_id, i, _ohlc)
    return OhlcsOut(items=items, missing=missing)


async def _read(
    services: Services,
    principal: Principal,
    account_id: str,
    names: list[str],
    shape: Callable[[QuoteReport, dict[str, Any]], T],
) -> tuple[dict[str, T], list[str]]:
    """Each quote the broker gave, in ``shape`` with its age, and the names it has none of."""
    found = await services.market_data.quotes(principal, AccountId(account_id), names)
    now = services.clock.now()
    items: dict[str, T] = {}
    for name, held in found.items():
        if held.quote is not None:
            age = round(max((now - held.as_of).total_seconds(), 0.0), 3)
            items[name] = shape(held.quote, {"as_of": held.as_of, "age_seconds": age})
    return items, [name for name, held in found.items() if held.quote is None]


def _day(quote: QuoteReport) -> Ohlc:
    return Ohlc(
        open=quote.open_price, high=quote.high_price, low=quote.low_price, close=quote.close_price
    )


def _quote(quote: QuoteReport, aged: dict[str, Any]) -> QuoteOut:
    return QuoteOut(
        last_price=quote.last_price,
        close_price=quote.close_price,
        lower_circuit=quote.lower_circuit,
        upper_circuit=quote.upper_circuit,
        ohlc=_day(quote),
        volume=quote.volume,
        **aged,
    )


def _ltp(quote: QuoteReport, aged: dict[str, Any]) -> LtpOut:
    return LtpOut(last_price=quote.last_price, **aged)


def _ohlc(quote: QuoteReport, aged: dict[str, Any]) -> OhlcOut:
    return OhlcOut(last_price=quote.last_price, ohlc=_day(quote), **aged)
