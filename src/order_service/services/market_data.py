"""Quotes for every client, within Kite's one quote request a second: one shared, short-lived
cache in front of the broker, so a hundred strategies asking each second cost one read.

A request names up to ``MAX_PRICES`` instruments (``EXCHANGE:SYMBOL``) and the account whose
session reads them. Names held younger than ``ttl_seconds`` are answered from the cache; the
rest are read ``MAX_QUOTES`` to a broker call (Kite's ``quote``, which carries the circuit
limits, and its OHLC: ``ltp`` and ``ohlc`` are answered from the same quotes), and
while a read is in flight every other request for those names waits for it instead of reading
again. Each answer says when its quote was read (``as_of``, by the clock port, which the TTL
follows too), so a client knows how old it is. A name the broker does not know is answered as
missing, and remembered as missing for the TTL too; a read the broker refuses (the budget, the
session, an outage) is the caller's error, never cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId
from order_service.domain.reports import QuoteReport
from order_service.errors import ValidationError
from order_service.services.access import session_for, visible_account
from order_service.services.instruments import InstrumentService
from order_service.services.ports import Broker, BrokerSession, Clock, UnitOfWorkFactory

MAX_QUOTES = 500  # Kite's most instruments in one quote call
MAX_PRICES = 1000  # the most one request names (Kite's most in an ltp or ohlc call)
_PRUNE_AT = 20_000  # names held before the expired ones are let go


@dataclass(frozen=True, slots=True)
class HeldQuote:
    """A quote as read (None: the broker knows no such instrument), and when."""

    quote: QuoteReport | None
    as_of: datetime


class MarketDataService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        ttl_seconds: float,
        instruments: InstrumentService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._instruments = instruments
        self._held: dict[str, HeldQuote] = {}
        self._reading: dict[str, asyncio.Future[HeldQuote]] = {}

    async def quotes(
        self,
        principal: Principal,
        account_id: AccountId,
        names: Sequence[str],
        limit: int = MAX_PRICES,
    ) -> dict[str, HeldQuote]:
        """Each named instrument's quote (at most ``limit`` of them), read with the account's
        session when not held; the names not held are read ``MAX_QUOTES`` to a broker call."""
        wanted = list(dict.fromkeys(names))  # each once, in the order asked
        if len(wanted) > limit:
            raise ValidationError(
                f"at most {limit} instruments in one request",
                field="i",
                details={"limit": limit, "asked": len(wanted)},
            )
        await self._check_known(wanted)
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
        session = session_for(account, self._clock.now())
        return await self._gathered(session, wanted)

    async def _check_known(self, names: Sequence[str]) -> None:
        if self._instruments is None:
            return
        await self._instruments.follow()
        for name in names:
            exchange, _, symbol = name.partition(":")
            self._instruments.check(exchange, symbol)

    async def _gathered(self, session: BrokerSession, names: list[str]) -> dict[str, HeldQuote]:
        now = self._clock.now()
        found: dict[str, HeldQuote] = {}
        for name in names:
            held = self._held.get(name)
            if held is not None and timedelta(0) <= now - held.as_of < self._ttl:
                found[name] = held
        waiting = {n: self._reading[n] for n in names if n not in found and n in self._reading}
        missing = [n for n in names if n not in found and n not in waiting]
        if missing:
            found |= await self._read(session, missing)
        for name, reading in waiting.items():
            try:
                found[name] = await asyncio.shield(reading)
            except asyncio.CancelledError:
                if not reading.cancelled():
                    raise  # this request was cancelled, not the read it waited for
                found |= await self._read(session, [name])  # that read's caller left
        return {name: found[name] for name in names}

    async def _read(self, session: BrokerSession, names: list[str]) -> dict[str, HeldQuote]:
        loop = asyncio.get_running_loop()
        futures = {name: loop.create_future() for name in names}
        self._reading |= futures
        try:
            quotes: dict[str, QuoteReport] = {}
            for start in range(0, len(names), MAX_QUOTES):
                quotes |= await self._broker.quotes(session, names[start : start + MAX_QUOTES])
            as_of = self._clock.now()
            if len(self._held) >= _PRUNE_AT:
                self._held = {n: h for n, h in self._held.items() if as_of - h.as_of < self._ttl}
            answered = {name: HeldQuote(quotes.get(name), as_of) for name in names}
            for name, held in answered.items():
                self._held[name] = held
                futures[name].set_result(held)
            return answered
        except asyncio.CancelledError:
            for future in futures.values():
                future.cancel()  # the waiters read for themselves
            raise
        except Exception as exc:  # every waiter gets the refusal, and the caller too
            for future in futures.values():
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # seen here: a waiter that left must not warn of it
            raise
        finally:
            for name in names:
                self._reading.pop(name, None)
