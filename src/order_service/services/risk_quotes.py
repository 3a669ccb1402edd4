"""Quotes for the pre-trade price rules: cached, read once however many placements ask.

A placement's circuit-band and fat-finger rules need the instrument's quote. One is read from
the broker (within the account's quote budget, which the gateway paces) only when the cache
holds none younger than ``ttl_seconds``; while a read is in flight every other placement of
that instrument waits for it instead of reading again, so 50 concurrent placements cost one
read. A read the broker refuses (budget, session, outage, a malformed reply) gives no quote, and
that too is remembered for the TTL: the price rules then leave the price to the exchange.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from order_service.domain.reports import QuoteReport
from order_service.errors import BROKER_REFUSALS, AuthenticationError, DataFormatError
from order_service.services.ports import Broker, BrokerSession

_UNQUOTED: tuple[type[Exception], ...] = (*BROKER_REFUSALS, AuthenticationError, DataFormatError)


class QuoteCache:
    """Quotes by ``EXCHANGE:SYMBOL``, each kept ``ttl_seconds``; one read in flight per name."""

    def __init__(
        self,
        broker: Broker,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._broker = broker
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._held: dict[str, tuple[float, QuoteReport | None]] = {}
        self._reading: dict[str, asyncio.Future[QuoteReport | None]] = {}

    async def quote(self, session: BrokerSession, name: str) -> QuoteReport | None:
        """The instrument's quote, from the cache when fresh, else from one shared read."""
        held = self._held.get(name)
        if held is not None and self._monotonic() - held[0] < self._ttl:
            return held[1]
        reading = self._reading.get(name)
        if reading is not None:
            return await asyncio.shield(reading)
        reading = asyncio.get_running_loop().create_future()
        self._reading[name] = reading
        try:
            found = await self._read(session, name)
            reading.set_result(found)
        finally:
            del self._reading[name]
            if not reading.done():  # cancelled mid-read: the waiters read for themselves
                reading.set_result(None)
        return found

    async def _read(self, session: BrokerSession, name: str) -> QuoteReport | None:
        try:
            quotes = await self._broker.quotes(session, [name])
        except _UNQUOTED:
            quotes = {}
        found = quotes.get(name)
        self._held[name] = (self._monotonic(), found)
        return found
