"""Historical candles of an instrument, over any range: split into the requests Kite answers."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from order_service.domain.account import IST
from order_service.domain.history import Candle, Interval
from order_service.domain.ids import AccountId
from order_service.domain.values import Exchange
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.errors import ValidationError
from order_service.services.history import CandleQuery, History

router = APIRouter(prefix="/api/v1/historical", tags=["market data"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 502, 503)
}
# A day (YYYY-MM-DD, IST) or a moment with its offset (ISO 8601).
_MOMENT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:[0-9]{2}))?$"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CandleOut(BaseModel):
    date: datetime = Field(description="the candle's start")
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None = Field(default=None, description="open interest, when asked for (`oi`)")

    @classmethod
    def of(cls, candle: Candle) -> CandleOut:
        return cls(
            date=candle.at,
            open=candle.open,
            high=candle.high,
            low=candle.low,
            close=candle.close,
            volume=candle.volume,
            oi=candle.oi,
        )


class HistoryOut(BaseModel):
    exchange: str
    tradingsymbol: str
    instrument_token: int
    interval: Interval
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    requests: int = Field(description="how many broker requests the range took")
    candles: list[CandleOut]

    @classmethod
    def of(cls, history: History) -> HistoryOut:
        query, instrument = history.query, history.instrument
        return cls.model_validate(
            {
                "exchange": instrument.exchange,
                "tradingsymbol": instrument.tradingsymbol,
                "instrument_token": instrument.instrument_token,
                "interval": query.interval,
                "from": query.start,
                "to": query.end,
                "requests": history.requests,
                "candles": [CandleOut.of(candle) for candle in history.candles],
            }
        )


@router.get(
    "/{exchange}/{tradingsymbol}",
    response_model=HistoryOut,
    response_model_by_alias=True,
    responses=ERRORS,
)
async def historical(
    services: ServicesDep,
    principal: PrincipalDep,
    exchange: Exchange,
    tradingsymbol: Annotated[str, Path(pattern=r"^[A-Za-z0-9&_\-.]{1,64}$")],
    account_id: Annotated[str, Query(min_length=1, max_length=64)],
    interval: Interval,
    start: Annotated[str, Query(alias="from", pattern=_MOMENT, max_length=32)],
    end: Annotated[str, Query(alias="to", pattern=_MOMENT, max_length=32)],
    oi: bool = False,
    continuous: bool = False,
) -> HistoryOut:
    """The instrument's candles from ``from`` to ``to`` (a day, YYYY-MM-DD in IST, or a moment
    with its offset; both included), read with ``account_id``'s session. A range longer than
    Kite answers in one request (minute: 60 days; 3, 5 and 10 minute: 100; 15 and 30 minute:
    200; 60 minute: 400; day: 2,000) is read as several, at most 20, in the account's
    historical budget."""
    query = CandleQuery(
        exchange.value,
        tradingsymbol.upper(),
        interval,
        _moment(start, "from", first=True),
        _moment(end, "to", first=False),
        oi,
        continuous,
    )
    history = await services.history.candles(principal, AccountId(account_id), query)
    return HistoryOut.of(history)


def _moment(raw: str, name: str, *, first: bool) -> datetime:
    """A day's first (or last) second in IST, or the moment given with its offset."""
    try:
        if _DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
            return datetime.combine(day, time.min if first else time(23, 59, 59), IST)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{name}: not a real day or time: {raw}", field=name) from exc
    return moment
