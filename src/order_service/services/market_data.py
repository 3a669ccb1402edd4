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
from order_service.errors import OrderServiceError, ValidationError
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


@dataclass(frozen=True, slots=True)
class _Reading:
    """A read in flight: its quote to come, and the account whose session reads it."""

    future: asyncio.Future[HeldQuote]
    account_id: AccountId


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
        self._reading: dict[str, _Reading] = {}
        self._locks: dict[AccountId, asyncio.Lock] = {}

    async def quotes(
        self, principal: Principal, account_id: AccountId, names: Sequence[str]
    ) -> dict[str, HeldQuote]:
        """Each named instrument's quote (at most ``MAX_PRICES`` of them), read with the
        account's session when not held; the names not held are read ``MAX_QUOTES`` to a
        broker call."""
        wanted = list(dict.fromkeys(names))  # each once, in the order asked
        if len(wanted) > MAX_PRICES:
            raise ValidationError(
                f"at most {MAX_PRICES} instruments in one request",
                field="i",
                details={"limit": MAX_PRICES, "asked": len(wanted)},
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
            found[name] = await self._waited(session, name, reading)
        return {name: found[name] for name in names}

    async def _waited(self, session: BrokerSession, name: str, reading: _Reading) -> HeldQuote:
        """The quote another request is reading; read again with this request's own session
        if that read's caller left, or if it was refused for another account (its session,
        its budget: never this caller's to be told)."""
        try:
            return await asyncio.shield(reading.future)
        except asyncio.CancelledError:
            if not reading.future.cancelled():
                raise  # this request was cancelled, not the read it waited for
        except OrderServiceError:
            if reading.account_id == session.account_id:
                raise
        return (await self._read(session, [name]))[name]

    async def _read(self, session: BrokerSession, names: list[str]) -> dict[str, HeldQuote]:
        """Read the names, ``MAX_QUOTES`` to a broker call, one read of the account's at a
        time: the quote budget is the pre-trade checks' too, and a flood of requests must
        never hold more than the next slot of it. Each call's quotes are held as it answers,
        stamped when it answered; a refused call refuses the names not read yet."""
        loop = asyncio.get_running_loop()
        futures = {name: _Reading(loop.create_future(), session.account_id) for name in names}
        self._reading |= futures
        answered: dict[str, HeldQuote] = {}
        try:
            async with self._lock_of(session.account_id):
                for start in range(0, len(names), MAX_QUOTES):
                    chunk = names[start : start + MAX_QUOTES]
                    answered |= self._hold(chunk, await self._broker.quotes(session, chunk))
                    for name in chunk:
                        futures[name].future.set_result(answered[name])
            return answered
        except asyncio.CancelledError:
            for reading in futures.values():
                reading.future.cancel()  # the waiters read for themselves
            raise
        except Exception as exc:  # every waiter gets the refusal, and the caller too
            for reading in futures.values():
                if not reading.future.done():
                    reading.future.set_exception(exc)
                    reading.future.exception()  # seen: a waiter that left must not warn of it
            raise
        finally:
            for name in names:
                self._reading.pop(name, None)

    def _hold(self, names: list[str], quotes: dict[str, QuoteReport]) -> dict[str, HeldQuote]:
        as_of = self._clock.now()
        if len(self._held) >= _PRUNE_AT:
            self._held = {n: h for n, h in self._held.items() if as_of - h.as_of < self._ttl}
        answered = {name: HeldQuote(quotes.get(name), as_of) for name in names}
        self._held |= answered
        return answered

    def _lock_of(self, account_id: AccountId) -> asyncio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = asyncio.Lock()
        return lock
