"""Historical candles for the caller's accounts: a range longer than Kite answers in one
request is read as several (``domain.history.spans``), in turn, each within the account's
historical budget (3 a second), and joined into one series.

The instrument is found in the instrument master (its token is what Kite asks for): before a
master is loaded there is nothing to look it up in (``SERVICE_UNAVAILABLE``), and a name the
master lacks is ``INVALID_SYMBOL``; a range that is backwards, or that would take more than
``MAX_CALLS`` requests, is refused before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from order_service.domain.account import Principal
from order_service.domain.history import (
    MAX_CANDLES,
    Candle,
    CandleRequest,
    Interval,
    joined,
    spans,
)
from order_service.domain.ids import AccountId
from order_service.domain.instrument import Instrument
from order_service.errors import ServiceUnavailableError, ValidationError
from order_service.services.access import session_for, visible_account
from order_service.services.instruments import InstrumentService
from order_service.services.ports import Broker, Clock, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class CandleQuery:
    exchange: str
    tradingsymbol: str
    interval: Interval
    start: datetime
    end: datetime
    oi: bool = False
    continuous: bool = False


@dataclass(frozen=True, slots=True)
class History:
    instrument: Instrument
    query: CandleQuery
    candles: list[Candle]
    requests: int  # how many broker requests the range took


class HistoryService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        instruments: InstrumentService,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._instruments = instruments

    async def candles(
        self, principal: Principal, account_id: AccountId, query: CandleQuery
    ) -> History:
        """The query's candles, read with the account's session."""
        parts = spans(query.start, query.end, query.interval)
        instrument = await self._instrument(query.exchange, query.tradingsymbol)
        _check_continuous(query, instrument)
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
        session = session_for(account, self._clock.now())
        read: list[list[Candle]] = []
        for start, end in parts:
            ask = CandleRequest(
                instrument.instrument_token, query.interval, start, end, query.oi, query.continuous
            )
            read.append(await self._broker.historical(session, ask))
            _check_size(read)
        # Kite reads its times to the second: nothing outside the range asked is answered.
        series = [c for c in joined(read) if query.start <= c.at <= query.end]
        return History(instrument, query, series, len(parts))

    async def _instrument(self, exchange: str, tradingsymbol: str) -> Instrument:
        await self._instruments.follow()
        found = self._instruments.check(exchange, tradingsymbol)
        if found is None:
            raise ServiceUnavailableError(
                "the instrument master is not loaded yet (it loads from the broker once an"
                " account is logged in): historical candles are asked for by its tokens"
            )
        return found


def _check_continuous(query: CandleQuery, instrument: Instrument) -> None:
    """Kite keeps continuous data for the day candles of futures only."""
    if query.continuous and (query.interval is not Interval.DAY or not instrument.is_future):
        raise ValidationError(
            "continuous candles are the day candles of a future (interval day, a FUT)",
            field="continuous",
            details={"interval": query.interval.value, "type": instrument.instrument_type},
        )


def _check_size(read: list[list[Candle]]) -> None:
    """Refuse, as soon as it is known, a range that gives more candles than one answer holds."""
    count = sum(len(part) for part in read)
    if count > MAX_CANDLES:
        raise ValidationError(
            f"the range holds more than {MAX_CANDLES} candles: ask for a shorter range or a"
            " longer interval",
            field="from",
            details={"limit": MAX_CANDLES},
        )
