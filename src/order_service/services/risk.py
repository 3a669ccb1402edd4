"""Pre-trade risk: every named rule of ``domain/risk.py`` applied before anything is sent.

One collaborator, ``RiskGuard``, is called once by a placement (inside its transaction, before
the order is stored: a denied order is never stored, so its idempotency key stays free and
nothing reaches the broker) and once by a modification (the working order's terms with the
change applied). What the rules read rides in the caller's transaction (the scope's limits in
one read; the order counts only when a count limit is set), or is in memory (the instrument
master, quotes in ``QuoteCache``, the market calendar, the recent unkeyed orders).

Limits resolve strategy first, then account, then configuration: a strategy's limit that is
set wins over its account's, the account's over the configured default. The stored limits are
kept in memory for ``LIMITS_TTL_SECONDS`` (``LimitsCache``): a change made through this process
applies to its next order, one made through another process within that time.
"""

from __future__ import annotations

import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal

from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.instrument import Instrument
from order_service.domain.market_calendar import MarketCalendar, check_market_hours
from order_service.domain.order import Order, OrderChanges, OrderRequest
from order_service.domain.position import IST
from order_service.domain.reports import QuoteReport
from order_service.domain.risk import (
    NO_LIMITS,
    OrderTerms,
    RiskLimits,
    RiskScope,
    check_circuit_band,
    check_counts,
    check_fat_finger,
    check_freeze_quantity,
    check_lot_size,
    check_order_limits,
    check_tick_size,
)
from order_service.domain.risk_book import (
    ScopeBook,
    WorkingOrder,
    check_daily_loss,
    check_gross_exposure,
    only_reduces,
)
from order_service.errors import RiskCheckFailed
from order_service.services.books import BooksService
from order_service.services.instruments import InstrumentService
from order_service.services.ports import BrokerSession, Clock, UnitOfWork
from order_service.services.risk_quotes import QuoteCache

# (account, exchange, tradingsymbol, side, quantity): what makes two orders the same one.
_PRUNE_AT = 10_000  # limits of scopes cached before the cache is let go
LIMITS_TTL_SECONDS = 1.0
# An order's stored limits: its account's and its strategy's (None: not set there).
Stored = tuple[RiskLimits | None, RiskLimits | None]
# A scope whose book limits are set: which scope, its strategy (None: the account's) and limits.
BookScope = tuple[RiskScope, StrategyId | None, RiskLimits]


class LimitsCache:
    """The stored limits of (account, strategy) pairs, each kept ``ttl_seconds``."""

    def __init__(
        self,
        ttl_seconds: float = LIMITS_TTL_SECONDS,
        monotonic: Callable[[], float] = monotonic_time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._held: dict[tuple[str, str], tuple[float, Stored]] = {}

    def get(self, key: tuple[str, str]) -> Stored | None:
        held = self._held.get(key)
        if held is None or self._monotonic() - held[0] >= self._ttl:
            return None
        return held[1]

    def put(self, key: tuple[str, str], stored: Stored) -> None:
        if len(self._held) >= _PRUNE_AT:
            self._held.clear()
        self._held[key] = (self._monotonic(), stored)

    def forget(self) -> None:
        """Drop every entry: limits were changed."""
        self._held.clear()


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """What configuration sets: default limits, the fat-finger distance, whether market
    hours are checked (and against which calendar), the duplicate window (None: off)."""

    defaults: RiskLimits = NO_LIMITS
    fat_finger_percent: Decimal | None = Decimal(10)
    calendar: MarketCalendar | None = None
    duplicate_window: timedelta | None = None


class RiskGuard:
    """Applies the pre-trade rules to placements and modifications."""

    def __init__(
        self,
        policy: RiskPolicy,
        clock: Clock,
        quotes: QuoteCache,
        instruments: InstrumentService | None,
        limits: LimitsCache | None = None,
        books: BooksService | None = None,
    ) -> None:
        self._policy = policy
        self._books = books
        self._cache = limits or LimitsCache()
        self._clock = clock
        self._quotes = quotes
        self._instruments = instruments

    async def check_placement(
        self, uow: UnitOfWork, session: BrokerSession, order: Order, keyed: bool
    ) -> None:
        """Refuse a new order (``RiskCheckFailed``) that any rule denies."""
        now = self._clock.now()
        request = order.request
        limits, stored = await self._limits(uow, order)
        scopes = self._book_scopes(order, stored)
        terms = await self._check_terms(session, request, limits, now, bool(scopes))
        if limits.max_open_orders is not None or limits.max_orders_per_day is not None:
            await self._check_counts(uow, order, limits, now)
        if scopes:
            await self._check_books(uow, session, order, terms, scopes)
        if not keyed:
            await self._check_duplicate(uow, request, now)

    async def check_modification(
        self, uow: UnitOfWork, session: BrokerSession, order: Order, changes: OrderChanges
    ) -> None:
        """Refuse a modification whose new terms a rule denies."""
        amended = replace(order.request, **changes.as_dict())
        limits, stored = await self._limits(uow, order)
        scopes = self._book_scopes(order, stored)
        terms = await self._check_terms(session, amended, limits, self._clock.now(), bool(scopes))
        if scopes:
            # Held to the book limits as its unfilled part, in place of what is working now.
            unfilled = replace(amended, quantity=max(amended.quantity - order.filled_quantity, 0))
            changed = replace(terms, request=unfilled)
            await self._check_books(uow, session, order, changed, scopes, _working_part(order))

    async def _check_terms(
        self,
        session: BrokerSession,
        request: OrderRequest,
        limits: RiskLimits,
        now: datetime,
        wants_value: bool,
    ) -> OrderTerms:
        if self._policy.calendar is not None:
            check_market_hours(self._policy.calendar, request.exchange, request.variety, now)
        instrument = self._instrument(request)
        check_order_limits(OrderTerms(request, instrument, None), _without_value(limits))
        wants_value = wants_value or limits.max_order_value is not None
        terms = OrderTerms(request, instrument, await self._quote(session, request, wants_value))
        check_lot_size(terms)
        check_tick_size(terms)
        check_freeze_quantity(terms)
        check_circuit_band(terms)
        check_fat_finger(terms, self._policy.fat_finger_percent)
        check_order_limits(terms, limits)
        return terms

    async def _limits(self, uow: UnitOfWork, order: Order) -> tuple[RiskLimits, Stored]:
        """The limits the order is held to (strategy over account over configuration), and
        the scopes' own as stored."""
        key = (order.account_id, order.strategy_id)
        stored = self._cache.get(key)
        if stored is None:
            stored = await uow.risk_limits.of_order(order.account_id, order.strategy_id)
            self._cache.put(key, stored)
        resolved = self._policy.defaults
        for scope in stored:
            if scope is not None:
                resolved = scope.over(resolved)
        return resolved, stored

    def _book_scopes(self, order: Order, stored: Stored) -> list[BookScope]:
        """The scopes whose book limits hold the order: each against its own book (the
        account's configured defaults under its own; a strategy's are its own alone)."""
        account, strategy = stored
        defaults = self._policy.defaults
        scopes: list[BookScope] = []
        if defaults.watches_book or (account is not None and account.watches_book):
            scopes.append((RiskScope.ACCOUNT, None, (account or NO_LIMITS).over(defaults)))
        if strategy is not None and strategy.watches_book:
            scopes.append((RiskScope.STRATEGY, order.strategy_id, strategy))
        return scopes

    async def _check_books(
        self,
        uow: UnitOfWork,
        session: BrokerSession,
        order: Order,
        terms: OrderTerms,
        scopes: list[BookScope],
        replacing: WorkingOrder | None = None,
    ) -> None:
        account = await uow.accounts.get(order.account_id)
        if self._books is None or account is None:
            return
        price = terms.reference_price
        value = price * terms.request.quantity if price is not None else None
        # The books (fills and their marks, quotes that may wait for the quote budget) first;
        # then the working orders under the account's hold, where a racing placement waits
        # for this one's order, so two cannot both fit under a limit with room for one.
        books = [await self._books.scope_book(uow, account, s) for _, s, _ in scopes]
        await uow.risk_limits.hold_account(order.account_id)
        for (scope, strategy_id, limits), book in zip(scopes, books, strict=True):
            working = await self._working(uow, session, order.account_id, strategy_id, book)
            if replacing is not None:
                working = _without(working, replacing)
            if only_reduces(terms.request, book, working):
                continue  # it lowers the exposure, and exits are allowed at the loss limit
            check_daily_loss(scope, limits.max_daily_loss, book)
            check_gross_exposure(scope, limits.max_gross_exposure, book, working, value)

    async def _working(
        self,
        uow: UnitOfWork,
        session: BrokerSession,
        account_id: AccountId,
        strategy_id: StrategyId | None,
        book: ScopeBook,
    ) -> list[WorkingOrder]:
        """The scope's working orders, a MARKET one valued at its position's mark or the
        last price."""
        working = await uow.risk_limits.working(account_id, strategy_id)
        priced = []
        for order in working:
            if order.price is None:
                held = book.positions.get(order.position)
                price = held.mark if held is not None else await self._last_price(session, order)
                order = replace(order, price=price)
            priced.append(order)
        return priced

    async def _last_price(self, session: BrokerSession, order: WorkingOrder) -> Decimal | None:
        quote = await self._quotes.quote(session, f"{order.exchange}:{order.tradingsymbol}")
        return quote.last_price if quote is not None else None

    async def _check_counts(
        self, uow: UnitOfWork, order: Order, limits: RiskLimits, now: datetime
    ) -> None:
        day_start = datetime.combine(now.astimezone(IST).date(), time(0), IST)
        account = order.account_id
        await uow.risk_limits.hold_account(account)
        # Each count only when its limit is set, and no further than the limit: a count at
        # the limit already refuses.
        most_open, most_today = limits.max_open_orders, limits.max_orders_per_day
        open_orders = (
            await uow.risk_limits.open_orders(account, None, most_open)
            if most_open is not None
            else 0
        )
        today = (
            await uow.risk_limits.orders_since(account, None, day_start, most_today)
            if most_today is not None
            else 0
        )
        check_counts(limits, open_orders, today)

    def _instrument(self, request: OrderRequest) -> Instrument | None:
        if self._instruments is None:
            return None
        return self._instruments.master.get(request.exchange.value, request.tradingsymbol)

    async def _quote(
        self, session: BrokerSession, request: OrderRequest, wants_value: bool
    ) -> QuoteReport | None:
        """A quote when a rule needs one: a price to place in the band, or a value to reckon."""
        needs = request.price is not None or request.trigger_price is not None
        if not needs and not wants_value:
            return None
        name = f"{request.exchange.value}:{request.tradingsymbol}"
        return await self._quotes.quote(session, name)

    async def _check_duplicate(self, uow: UnitOfWork, request: OrderRequest, now: datetime) -> None:
        """Refuse the same unkeyed order again within the window, whichever process placed
        the first: the stored orders are read under the account's hold, so two identical
        placements racing in two processes cannot both pass."""
        window = self._policy.duplicate_window
        if window is None:
            return
        await uow.risk_limits.hold_account(request.account_id)
        last = await uow.risk_limits.last_unkeyed(request, now - window)
        if last is None:
            return
        ago = max((now - last).total_seconds(), 0.0)
        raise RiskCheckFailed(
            "duplicate",
            window.total_seconds(),
            ago,
            "the same order (every term alike) was placed "
            f"{ago:g} s ago without an idempotency key; send an Idempotency-Key to place it "
            "again on purpose",
        )


def _working_part(order: Order) -> WorkingOrder:
    """The order's unfilled part as the working orders list it (its price aside)."""
    request = order.request
    return WorkingOrder(
        request.exchange.value, request.tradingsymbol, request.product.value,
        request.transaction_type, max(request.quantity - order.filled_quantity, 0), None,
    )  # fmt: skip


def _without(working: list[WorkingOrder], own: WorkingOrder) -> list[WorkingOrder]:
    """The working orders but one: the order being modified, matched by its terms."""
    for index, other in enumerate(working):
        if replace(other, price=None) == own:
            return working[:index] + working[index + 1 :]
    return working


def _without_value(limits: RiskLimits) -> RiskLimits:
    """The per-order limits that need no quote (checked before one is read)."""
    return replace(limits, max_order_value=None)
