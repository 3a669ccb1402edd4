"""Marks for the books: the broker's quotes within the quote budget, cached, else the last fill.

One ``ohlc`` read per account per refresh covers every instrument that account's fills name
(Kite allows one quote request a second per API key: the gateway's ``QUOTES`` bucket paces
it). A quote younger than ``ttl_seconds`` is served from the cache; a refusal (budget, session,
broker down, a malformed reply) leaves that instrument to the domain's fallback, the last fill
price, and the answer says which it used. An instrument the broker does not quote (expired,
unknown) is remembered as such for the same time, so it costs no read per request, and a quote
older than ``MAX_AGE_TTLS`` times the TTL (its refreshes failing since) is no mark at all.
One read asks for at most ``PER_READ`` instruments (Kite's ``quote`` takes 500).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from order_service.domain.account import Account
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId
from order_service.domain.position import Mark, MarkLookup, MarkSource
from order_service.domain.reports import QuoteReport
from order_service.errors import BROKER_REFUSALS, AuthenticationError, DataFormatError
from order_service.services.access import session_for
from order_service.services.ports import Broker, Clock

PER_READ = 500
MAX_AGE_TTLS = 12
_UNQUOTED: tuple[type[Exception], ...] = (*BROKER_REFUSALS, AuthenticationError, DataFormatError)


# An account's instrument: (account id, exchange, tradingsymbol).
Traded = tuple[AccountId, str, str]


def traded_instruments(fills: Iterable[Fill]) -> set[Traded]:
    """Each account's instruments that these fills name."""
    return {(f.account_id, f.report.exchange, f.report.tradingsymbol) for f in fills}


class MarkBoard:
    """Quotes by ``EXCHANGE:SYMBOL``, each kept ``ttl_seconds``."""

    def __init__(self, broker: Broker, clock: Clock, ttl_seconds: float) -> None:
        self._broker = broker
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self._quotes: dict[str, tuple[float, QuoteReport | None]] = {}  # None: not quoted

    async def board(self, accounts: Sequence[Account], traded: Iterable[Traded]) -> MarkLookup:
        """Return the marks of the accounts' instruments ``traded`` names, quoting the stale."""
        wanted: dict[str, set[str]] = {}
        for account_id, exchange, tradingsymbol in traded:
            wanted.setdefault(account_id, set()).add(f"{exchange}:{tradingsymbol}")
        for account in accounts:
            stale = sorted(n for n in wanted.get(account.account_id, ()) if not self._fresh(n))
            if stale:
                await self._refresh(account, stale)
        return self._lookup

    def _fresh(self, name: str) -> bool:
        held = self._quotes.get(name)
        return held is not None and time.monotonic() - held[0] < self.ttl_seconds

    async def _refresh(self, account: Account, names: list[str]) -> None:
        for start in range(0, len(names), PER_READ):
            chunk = names[start : start + PER_READ]
            try:
                session = session_for(account, self._clock.now())
                quotes = await self._broker.quotes(session, chunk)
            except _UNQUOTED:
                return  # the last fill marks these instruments
            now = time.monotonic()
            for name in chunk:
                self._quotes[name] = (now, quotes.get(name))

    def _lookup(self, exchange: str, tradingsymbol: str) -> Mark | None:
        held = self._quotes.get(f"{exchange}:{tradingsymbol}")
        if held is None or held[1] is None:
            return None
        if time.monotonic() - held[0] > self.ttl_seconds * MAX_AGE_TTLS:
            return None  # refreshes have failed since: an old quote is no mark
        quote = held[1]
        return Mark(quote.last_price, quote.close_price, MarkSource.QUOTE)
