"""The instrument master, searched: what can be traded, with its lot, tick, expiry and freeze
quantity, by the start of a trading symbol or by a name."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from order_service.domain.instrument import Instrument
from order_service.domain.instrument_search import MAX_RESULTS, InstrumentQuery
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.routes.books import Day
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/instruments", tags=["instruments"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 422, 503)}
_WORD = r"^[A-Za-z0-9 &._\-]*$"  # what Kite's symbols and names are made of
_KEY = r"^[A-Z]{2,6}:[A-Za-z0-9 &._\-]{1,40}$"


class InstrumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    exchange: str
    tradingsymbol: str
    instrument_token: int
    name: str
    instrument_type: str
    segment: str
    tick_size: Decimal
    lot_size: int
    expiry: date | None
    strike: Decimal | None
    freeze_quantity: int | None = Field(description="the most one order may hold; null: none")


class InstrumentPage(BaseModel):
    items: list[InstrumentOut]
    next_after: str | None = Field(description="pass back as `after` for the next page")
    loaded_at: datetime | None = Field(description="when the master was read from the broker")


@router.get("", response_model=InstrumentPage, responses=ERRORS)
async def search_instruments(
    services: ServicesDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=40, pattern=_WORD)] = "",
    exchange: Annotated[str | None, Query(max_length=6, pattern=r"^[A-Z]{2,6}$")] = None,
    segment: Annotated[str | None, Query(max_length=20, pattern=r"^[A-Z\-]{2,20}$")] = None,
    instrument_type: Annotated[str | None, Query(max_length=6, pattern=r"^[A-Z]{2,6}$")] = None,
    expiry: Annotated[Day | None, Query()] = None,
    after: Annotated[str | None, Query(max_length=48, pattern=_KEY)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 50,
) -> InstrumentPage:
    """Instruments whose trading symbol begins with ``q`` or whose name is ``q`` (any case),
    narrowed by exchange, segment, type and expiry, in symbol order; in memory, no broker call."""
    query = InstrumentQuery(
        q, exchange, segment, instrument_type, expiry, _key(after) if after else None, limit
    )
    found = await services.instruments.search(query)
    last = found[-1] if len(found) == limit else None
    return InstrumentPage(
        items=[InstrumentOut.model_validate(instrument) for instrument in found],
        next_after=_name(last) if last is not None else None,
        loaded_at=services.instruments.master.loaded_at,
    )


def _key(text: str) -> tuple[str, str]:
    exchange, _, symbol = text.partition(":")
    return exchange, symbol


def _name(instrument: Instrument) -> str:
    return f"{instrument.exchange}:{instrument.tradingsymbol}"
