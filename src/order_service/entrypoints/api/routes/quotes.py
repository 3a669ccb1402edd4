"""Quotes for every client of the service, from one shared cache within Kite's quote limit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from order_service.domain.ids import AccountId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.services.market_data import MAX_QUOTES, HeldQuote

router = APIRouter(prefix="/api/v1/quotes", tags=["market data"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 502, 503)
}
Name = Annotated[str, Field(pattern=r"^[A-Z]{2,6}:[A-Za-z0-9 &._\-]{1,40}$")]


class QuoteOut(BaseModel):
    last_price: Decimal
    close_price: Decimal = Field(description="the previous session's close")
    lower_circuit: Decimal | None = Field(description="the day's lowest allowed price")
    upper_circuit: Decimal | None = Field(description="the day's highest allowed price")
    as_of: datetime = Field(description="when the quote was read from the broker")
    age_seconds: float = Field(description="how old the quote was when answered")


class QuotesOut(BaseModel):
    items: dict[str, QuoteOut]
    missing: list[str] = Field(description="instruments the broker has no quote of")


@router.get("", response_model=QuotesOut, responses=ERRORS)
async def quotes(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: Annotated[str, Query(min_length=1, max_length=64)],
    i: Annotated[list[Name], Query(min_length=1, max_length=MAX_QUOTES)],
) -> QuotesOut:
    """The last price, previous close and circuit limits of each ``i`` (``EXCHANGE:SYMBOL``,
    repeated, at most 500), read with ``account_id``'s session; a quote younger than
    ``QUOTE_CACHE_SECONDS`` is shared by every client that asks."""
    found = await services.market_data.quotes(principal, AccountId(account_id), i)
    now = services.clock.now()
    items = {name: _out(held, now) for name, held in found.items() if held.quote is not None}
    missing = [name for name, held in found.items() if held.quote is None]
    return QuotesOut(items=items, missing=missing)


def _out(held: HeldQuote, now: datetime) -> QuoteOut:
    quote = held.quote
    assert quote is not None
    return QuoteOut(
        last_price=quote.last_price,
        close_price=quote.close_price,
        lower_circuit=quote.lower_circuit,
        upper_circuit=quote.upper_circuit,
        as_of=held.as_of,
        age_seconds=round(max((now - held.as_of).total_seconds(), 0.0), 3),
    )
