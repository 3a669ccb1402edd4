"""The instrument master: loaded from the broker once a day, stored, and looked up in memory.

The ``instruments`` worker reads the broker's list (with a live session of any account) when
the stored one is older than this morning's refresh time (``REFRESH_AT``, before the market
opens; Kite's sessions expire at 06:00, so the day's first login can read it), adds the shipped
freeze limits, and replaces the stored master in one transaction. Every process (API or
worker) follows the stored master: at most once a minute it asks the database when the master
was loaded, and reads it again only when a newer load is there.

An order for an instrument that a loaded master does not hold is ``INVALID_SYMBOL`` before
anything is stored or sent. Before any master was ever loaded (a fresh install before its
first login) there is nothing to check against, and the broker decides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock_time

from order_service.domain.account import EVERY_ACCOUNT, Account
from order_service.domain.instrument import (
    FreezeLimits,
    Instrument,
    InstrumentMaster,
    with_freeze_limits,
)
from order_service.domain.instrument_search import InstrumentIndex, InstrumentQuery
from order_service.domain.position import IST
from order_service.errors import DataFormatError, ServiceUnavailableError
from order_service.services.access import session_for
from order_service.services.ports import Broker, Clock, UnitOfWorkFactory

# IST: Kite writes the day's instruments list early in the morning (around 08:30, by its forum
# answers), after its 06:00 session reset; the pre-open session starts at 09:00.
REFRESH_AT = clock_time(8, 45)
# A list under this share of the master in force is taken for a broken reply, not a market
# that lost half its instruments overnight: the master in force is kept.
MIN_SHARE_KEPT = 0.5
FOLLOW_SECONDS = 60.0  # how often a process asks whether a newer master was stored


class InstrumentService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        freeze_limits: FreezeLimits | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._freeze_limits = freeze_limits
        self._monotonic = monotonic
        self._master = InstrumentMaster((), None)
        self._index: InstrumentIndex | None = None
        self._followed_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def master(self) -> InstrumentMaster:
        return self._master

    def check(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        """The instrument, ``InvalidSymbolError`` if a loaded master lacks it, None if no
        master was ever loaded (nothing to check against). In memory: call ``follow`` first,
        outside any transaction."""
        if not self._master.is_loaded:
            return None
        return self._master.require(exchange, tradingsymbol)

    async def follow(self) -> None:
        """Read the stored master again if a newer one was stored (at most once a minute)."""
        now = self._monotonic()
        if self._followed_at is not None and now - self._followed_at < FOLLOW_SECONDS:
            return
        async with self._lock:
            if self._followed_at is not None and now - self._followed_at < FOLLOW_SECONDS:
                return
            async with self._uow() as uow:
                stored = await uow.instruments.load_time()
                if stored is not None and stored != self._master.loaded_at:
                    master = await uow.instruments.load()
                    if master is not None:
                        self._master = master
            self._followed_at = self._monotonic()

    async def search(self, query: InstrumentQuery) -> list[Instrument]:
        """The master's instruments matching ``query`` (``ServiceUnavailableError`` before any
        master was loaded: nothing to search yet)."""
        await self.follow()
        if not self._master.is_loaded:
            raise ServiceUnavailableError(
                "the instrument master is not loaded yet: it loads from the broker once an "
                "account is logged in"
            )
        if self._index is None or self._index.master is not self._master:
            self._index = InstrumentIndex(self._master)  # once per master: then in memory
        return self._index.search(query)

    def is_due(self) -> bool:
        """True when the master is older than the last refresh time (or was never loaded)."""
        loaded_at = self._master.loaded_at
        return loaded_at is None or loaded_at < last_refresh_time(self._clock.now())

    async def refresh_if_due(self) -> int | None:
        """Load the broker's list if the master is due and an account can read it; return the
        count loaded, or None when nothing was due (or no account has a live session)."""
        await self.follow()
        if not self.is_due():
            return None
        account = await self._reader()
        if account is None:
            return None
        return await self.refresh(account)

    async def refresh(self, account: Account) -> int:
        """Read the broker's list with the account's session, store it and take it."""
        now = self._clock.now()
        listed = await self._broker.instruments(session_for(account, now))
        if not listed:
            raise DataFormatError("the broker's instruments list is empty: the master is kept")
        if len(listed) < MIN_SHARE_KEPT * len(self._master):
            raise DataFormatError(
                "the broker's instruments list is under half the master in force: it is kept",
                details={"listed": len(listed), "in_force": len(self._master)},
            )
        master = InstrumentMaster(with_freeze_limits(listed, self._freeze_limits), now)
        async with self._uow() as uow:
            await uow.instruments.replace_all(list(master), now)
            await uow.commit()
        self._master = master
        return len(master)

    async def _reader(self) -> Account | None:
        async with self._uow() as uow:
            accounts = await uow.accounts.list(EVERY_ACCOUNT)
        now = self._clock.now()
        live = [a for a in accounts if not a.is_removed and a.has_live_session(now)]
        return min(live, key=lambda a: a.account_id) if live else None


def last_refresh_time(now: datetime) -> datetime:
    """The latest refresh time (``REFRESH_AT`` IST) at or before ``now``."""
    local = now.astimezone(IST)
    today = datetime.combine(local.date(), REFRESH_AT, IST)
    return today if local >= today else today - timedelta(days=1)
