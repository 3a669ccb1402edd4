"""The ports the services depend on; adapters implement them, fakes double them in tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence, Set
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from order_service.domain.account import (
    Account,
    AccountScope,
    ApiKeyInfo,
    Principal,
    Strategy,
    UserInfo,
)
from order_service.domain.account_events import AccountEvent
from order_service.domain.attribution import (
    AttributionId,
    CaseStatus,
    ExitAttribution,
    Part,
    PartsOf,
    Placing,
    PositionKey,
)
from order_service.domain.budget import Bucket
from order_service.domain.control import ControlMode
from order_service.domain.events import OrderEvent
from order_service.domain.feed import FeedEvent
from order_service.domain.fill import Fill
from order_service.domain.halt import Halt, HaltScope
from order_service.domain.handoff import Handoff, HandoffId
from order_service.domain.history import Candle, CandleRequest
from order_service.domain.ids import (
    AccountId,
    ApiKeyId,
    BrokerOrderId,
    ClientOrderId,
    OrderId,
    PortfolioId,
    SignalTokenId,
    StrategyId,
    UserId,
)
from order_service.domain.instrument import Instrument, InstrumentMaster
from order_service.domain.login import LoginState
from order_service.domain.order import Order, OrderChanges, OrderRequest
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.domain.previews import BasketMargins, ContractNoteLine, Margin, PricedOrder
from order_service.domain.reports import (
    FillReport,
    HoldingReport,
    OrderBook,
    OrderStatusReport,
    PositionReport,
    QuoteReport,
    SegmentMargins,
    SliceReport,
    TradeId,
)
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.risk_book import WorkingOrder
from order_service.domain.signal import SignalToken
from order_service.domain.status import OrderStatus
from order_service.domain.values import Variety
from order_service.domain.webhook import Delivery, WebhookEndpoint, WebhookEvent

OrderList = list[Order]
EventList = list[OrderEvent]
AccountIdList = list[AccountId]
EnabledList = list[tuple[WebhookEndpoint, int]]
EndpointList = list[WebhookEndpoint]
WebhookEventList = list[WebhookEvent]
DeliveryList = list[Delivery]


@dataclass(frozen=True, slots=True)
class BrokerSession:
    """What the broker adapter needs to act for one account."""

    account_id: AccountId
    api_key: str
    access_token: str


@dataclass(frozen=True, slots=True)
class SessionGrant:
    access_token: str
    broker_user_id: str
    login_at: datetime


class Broker(Protocol):
    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        """Return the broker's login page; ``redirect_params`` come back to our callback."""
        ...

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant: ...

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId: ...

    async def place_autoslice_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> list[SliceReport]:
        """Place with the broker's autoslice: one report per slice, in the broker's order."""
        ...

    async def modify_order(
        self,
        session: BrokerSession,
        variety: Variety,
        broker_order_id: BrokerOrderId,
        changes: OrderChanges,
    ) -> None: ...

    async def cancel_order(
        self, session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None: ...

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]: ...

    async def orders(self, session: BrokerSession) -> OrderBook:
        """Return the account's order book of the day, without the rows that cannot be read."""
        ...

    async def trades(self, session: BrokerSession) -> list[FillReport]:
        """Return the account's fills of the day (the trade book), without unreadable rows."""
        ...

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]: ...

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]: ...

    async def order_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        """Return what each order would block on its own, in the orders' order."""
        ...

    async def basket_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest], consider_positions: bool
    ) -> BasketMargins:
        """Return what the orders would block together (with the account's positions, if asked)."""
        ...

    async def contract_note(
        self, session: BrokerSession, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        """Return each order's charges as if executed at its average price, in the orders' order."""
        ...

    async def positions(self, session: BrokerSession) -> list[PositionReport]:
        """Return the account's net position book."""
        ...

    async def holdings(self, session: BrokerSession) -> list[HoldingReport]: ...

    async def instruments(self, session: BrokerSession) -> list[Instrument]:
        """Return the broker's instruments list (rows it cannot read are left out, named)."""
        ...

    async def quotes(
        self, session: BrokerSession, instruments: Sequence[str]
    ) -> dict[str, QuoteReport]:
        """Return the last price and previous close of each ``EXCHANGE:SYMBOL`` it knows."""
        ...

    async def historical(self, session: BrokerSession, ask: CandleRequest) -> list[Candle]:
        """Return the candles of one span Kite answers in one request (``domain.history``)."""
        ...

    async def close(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


# Reads an account's stored broker session; None when the account must log in again.
SessionSource = Callable[[AccountId], Awaitable[BrokerSession | None]]


class RateBudget(Protocol):
    """Per-account request budgets, shared by every process that uses the same store."""

    async def reserve(self, account_id: AccountId, bucket: Bucket, max_wait: float) -> float:
        """Reserve the earliest slot; return the seconds to wait before sending (0 if none).

        A slot further than ``max_wait`` away reserves nothing and raises ``RateLimitError``
        with ``retry_after`` set to that delay; an unreachable store raises
        ``ServiceUnavailableError`` (fail closed).
        """
        ...

    async def close(self) -> None: ...


class LeaseStore(Protocol):
    """Per-account leases shared by the worker processes, each grant with a fencing token.

    Expiry is judged by the store's own clock (the database's or Redis's), never a caller's,
    so processes on machines with skewed clocks agree on who holds what. Tokens of an account
    only grow: every grant gets a higher one than any before it.
    """

    async def announce(self, holder: str, ttl: float) -> int:
        """Mark ``holder`` as sharing the leases for ``ttl`` seconds; return how many do now."""
        ...

    async def withdraw(self, holder: str) -> None:
        """Stop counting ``holder`` among those sharing the leases (a clean shutdown)."""
        ...

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        """Grant the lease if it is free, expired or already ``holder``'s; return its new token.

        None when another holder's lease is live.
        """
        ...

    async def renew(
        self, holder: str, tokens: Mapping[AccountId, int], ttl: float
    ) -> set[AccountId]:
        """Extend each live lease ``holder`` holds with the given token; return those extended."""
        ...

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        """Free the lease if ``holder`` still holds it with ``token`` (else change nothing)."""
        ...

    async def close(self) -> None: ...


class InstanceRegistry(Protocol):
    """Which service processes are alive: each one's heartbeat, judged by the store's clock."""

    async def beat(self, instance_id: str, ttl: float) -> None:
        """Record that ``instance_id`` is alive for the next ``ttl`` seconds."""
        ...

    async def leave(self, instance_id: str) -> None:
        """Forget ``instance_id`` (its process is ending cleanly)."""
        ...

    async def alive(self, instance_ids: Set[str]) -> set[str]:
        """Return those of ``instance_ids`` whose heartbeat has not expired."""
        ...


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What a caller asks of the order list; the service adds the scope it may see."""

    account_id: AccountId | None = None
    status: OrderStatus | None = None
    strategy_id: StrategyId | None = None
    after: OrderId | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A page of orders within ``scope`` (required: there is no default of everything)."""

    scope: AccountScope
    account_id: AccountId | None = None
    status: OrderStatus | None = None
    strategy_id: StrategyId | None = None
    after: OrderId | None = None
    limit: int = 50


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...

    async def save(self, order: Order) -> None: ...

    async def get(self, order_id: OrderId) -> Order | None: ...

    async def get_by_client_order_id(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Order | None: ...

    async def with_key_prefix(self, account_id: AccountId, prefix: str, limit: int) -> list[Order]:
        """The account's orders whose client order id begins with ``prefix`` (exactly, case
        and all), at most ``limit``, oldest first."""
        ...

    async def get_by_broker_order_id(
        self, account_id: AccountId, broker_order_id: BrokerOrderId
    ) -> Order | None: ...

    async def get_by_tag(self, tag: str) -> Order | None: ...

    async def list(self, query: OrderQuery) -> OrderList: ...

    async def list_unsettled(self, account_id: AccountId) -> OrderList: ...

    async def accounts_with_unsettled(self) -> AccountIdList: ...

    async def events(self, order_id: OrderId) -> EventList: ...

    async def by_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> OrderList:
        """Return the account's orders with any of these broker ids (in no set order)."""
        ...

    async def known_broker_ids(
        self, account_id: AccountId, broker_order_ids: Collection[BrokerOrderId]
    ) -> set[BrokerOrderId]:
        """Return those of ``broker_order_ids`` that an order of the account holds."""
        ...

    async def known_tags(self, account_id: AccountId, tags: Collection[str]) -> set[str]:
        """Return those of ``tags`` that an order of the account holds."""
        ...

    async def with_event(self, order_ids: Collection[OrderId], name: str) -> set[OrderId]:
        """Return those of ``order_ids`` whose event log holds an event called ``name``."""
        ...

    async def save_all(self, orders: Sequence[Order]) -> OrderList:
        """Write each order nobody else wrote since it was read, with its events, at once.

        Return the orders that lost that race (``save`` would raise ``StaleWrite`` for them):
        unwritten, their events still pending.
        """
        ...

    async def append_events(self, orders: Sequence[Order]) -> None:
        """Store the orders' pending events, leaving the orders' rows (and versions) as stored.

        For changes that are only events (a fill recorded that does not move the order's
        totals): nothing of the order is written, so there is no write to lose. Whatever the
        events describe must be guarded by its own constraint (a fill by its trade id).
        """
        ...

    async def add_absent(self, orders: Sequence[Order]) -> OrderList:
        """Insert, with their events, the orders whose keys no stored order holds; return those.

        An order whose broker id (in its account), client order id or tag is taken is left
        out: re-seeing a broker order never stores it twice, whoever stored it first.
        """
        ...


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None: ...

    async def save(self, account: Account) -> None: ...

    async def get(self, account_id: AccountId) -> Account | None: ...

    async def list(self, scope: AccountScope) -> list[Account]: ...

    async def require_login(self, account_id: AccountId, access_token: str) -> None:
        """Clear the account's session if ``access_token`` is still its token.

        Only that token is ever cleared: if a login has stored another, nothing changes (a
        login committed after the read surfaces as ``StaleWrite``, at the latest at commit).
        """
        ...

    async def require_reconciliation(self, account_id: AccountId, at: datetime) -> None:
        """Hold the account's new orders until its books are reconciled (kept if already held)."""
        ...

    async def mark_reconciled(self, account_id: AccountId, since: datetime) -> None:
        """Release the hold set at ``since``; a hold set later (a newer login) stays."""
        ...


class ScopeLocks(Protocol):
    """Locks of accounts' control scopes shared by every process (Redis, when configured),
    each grant with a fencing token that only grows; expiry is judged by the store's clock."""

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        """Take the account's scope lock for ``ttl`` seconds; return its token, or None when
        another holder's lock is live."""
        ...

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        """Free the lock if ``holder`` still holds it with ``token`` (else change nothing).
        Best effort, never raising: a lock a lost store could not free expires by its TTL."""
        ...

    async def close(self) -> None: ...


class ControlModeRepository(Protocol):
    """The only writer of control modes (an account's or its strategies' save never is)."""

    async def fence_scope(self, account_id: AccountId, token: int) -> bool:
        """Record ``token`` as the newest scope-lock token the account's modes were written
        under; False (nothing written) when a newer one was recorded already."""
        ...

    async def set_account_mode(self, account_id: AccountId, mode: ControlMode) -> None: ...

    async def set_strategy_modes(self, account_id: AccountId, mode: ControlMode) -> None:
        """Give every strategy of the account but the default (which follows it) ``mode``."""
        ...

    async def set_strategy_mode(self, strategy_id: StrategyId, mode: ControlMode) -> None:
        """Give one strategy (the default one too) a mode of its own."""
        ...


# What an account's allocations were when read: their count and highest id (changes with each).
AllocationMark = tuple[int, int]


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """A page of attribution cases of some accounts (by id, after ``after``)."""

    account_ids: frozenset[AccountId]
    status: CaseStatus | None = None
    after: AttributionId | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ExitsAround:
    """External orders of a position around an exit's first fill, by their own first fill."""

    unattributed_before: int  # began before it and are not attributed yet
    unapplied_before: int  # began before it and are a case not applied yet
    attributed_after: int  # began after it and are attributed already


class AttributionRepository(Protocol):
    async def unattributed_exits(self, account_id: AccountId, limit: int) -> list[Order]:
        """The account's settled external orders with fills in the ledger and no attribution,
        oldest first."""
        ...

    async def accounts_unattributed(self) -> list[AccountId]:
        """The accounts with a settled external order not attributed yet."""
        ...

    async def add(self, attribution: ExitAttribution) -> bool:
        """Store it unless its order has one already; return whether it was stored."""
        ...

    async def get(self, attribution_id: AttributionId) -> ExitAttribution | None: ...

    async def cases(self, query: CaseQuery) -> list[ExitAttribution]: ...

    async def unapplied_cases(
        self, account_id: AccountId, position: PositionKey, before: AttributionId | None = None
    ) -> int:
        """How many of the account's cases of this position (made before ``before``, if
        named) are not applied yet."""
        ...

    async def short_of_fills(
        self,
        account_id: AccountId,
        position: PositionKey,
        window: tuple[datetime, datetime],
        other_than: OrderId,
    ) -> int:
        """How many of the account's orders of ``position`` changed since ``window[0]`` and
        created by ``window[1]`` (bar ``other_than``) have filled more than the ledger holds."""
        ...

    async def exits_around(
        self,
        account_id: AccountId,
        position: PositionKey,
        placing: Placing,
        other_than: OrderId,
        since: datetime,
    ) -> ExitsAround:
        """The account's external orders of ``position`` changed since ``since`` (bar
        ``other_than``) counted around ``placing`` (when executed, then the ledger's sequence)
        by when they began to fill: see ``ExitsAround``."""
        ...

    async def save(self, attribution: ExitAttribution) -> None:
        """Write it if nobody did since it was read, else raise ``StaleWrite``."""
        ...

    async def add_parts(
        self, account_id: AccountId, attribution_id: AttributionId, parts: Sequence[Part]
    ) -> None: ...

    async def parts(self, account_id: AccountId) -> tuple[PartsOf, AllocationMark]:
        """The account's allocated shares of fills, and what they were when read."""
        ...


class HandoffRepository(Protocol):
    """Handoffs of control; at most one unfinished per scope (the store refuses a second)."""

    async def lock_scope(self, account_id: AccountId, strategy_id: StrategyId | None) -> None:
        """Hold the account's row, then the strategy's, until the transaction ends."""
        ...

    async def add(self, handoff: Handoff) -> None: ...

    async def get(self, handoff_id: HandoffId) -> Handoff | None: ...

    async def unfinished(self, account_id: AccountId) -> list[Handoff]:
        """The account's unfinished handoffs (any scope of it), oldest first."""
        ...

    async def accounts_unfinished(self) -> list[AccountId]:
        """The accounts that have an unfinished handoff."""
        ...

    async def save(self, handoff: Handoff) -> None:
        """Store its changes if nobody stored a newer version meanwhile (else ``StaleWrite``);
        bumps ``version``."""
        ...


class StrategyRepository(Protocol):
    async def add(self, strategy: Strategy) -> None: ...

    async def ensure_default(self, candidate: Strategy) -> Strategy:
        """Store ``candidate`` unless the account has its default strategy; return the default.

        Safe under concurrency: one default per account, whoever stores it first.
        """
        ...

    async def save(self, strategy: Strategy) -> None:
        """Write the strategy's name, archive and deletion marks (``NotFound`` if it has none)."""
        ...

    async def get(self, strategy_id: StrategyId) -> Strategy | None:
        """Return the strategy, deleted or not."""
        ...

    async def get_default(self, account_id: AccountId) -> Strategy | None: ...

    async def list(self, scope: AccountScope) -> list[Strategy]:
        """Return the strategies of the accounts in ``scope`` that are not deleted, by account."""
        ...

    async def open_positions(self, strategy_id: StrategyId) -> int:
        """Return how many instruments the strategy's fills leave an open quantity in."""
        ...


class PortfolioRepository(Protocol):
    async def add(self, portfolio: Portfolio) -> None:
        """Store the portfolio and its strategies (a taken name of its owner is ``Conflict``)."""
        ...

    async def ensure_default(self, candidate: Portfolio) -> Portfolio:
        """Store ``candidate`` unless its account has its default portfolio; return the default,
        holding the candidate's strategies. Safe under concurrency: one per account."""
        ...

    async def save(self, portfolio: Portfolio) -> None:
        """Write the portfolio's name and archive mark (``NotFound`` if it has none)."""
        ...

    async def remove(self, portfolio_id: PortfolioId) -> None: ...

    async def get(self, portfolio_id: PortfolioId) -> Portfolio | None: ...

    async def get_default(self, account_id: AccountId) -> Portfolio | None: ...

    async def list(self, scope: PortfolioScope) -> list[Portfolio]:
        """Return the portfolios ``scope`` may see, by id."""
        ...

    async def attach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None:
        """Add the strategy to the portfolio; attaching twice is harmless."""
        ...

    async def detach(self, portfolio_id: PortfolioId, strategy_id: StrategyId) -> None: ...

    async def detach_everywhere(self, strategy_id: StrategyId) -> None:
        """Take the strategy out of every portfolio (it is being deleted)."""
        ...


class UserRepository(Protocol):
    async def add(self, principal: Principal, created_at: datetime) -> None: ...

    async def get(self, user_id: UserId) -> Principal | None: ...

    async def list_users(self) -> list[UserInfo]:
        """Return every user, oldest first."""
        ...

    async def add_api_key(
        self,
        user_id: UserId,
        key_id: ApiKeyId,
        key_hash: str,
        created_at: datetime,
        strategy_id: StrategyId | None = None,
    ) -> None: ...

    async def by_api_key_hash(self, key_hash: str) -> Principal | None:
        """Return the key's owner, bound to the key's strategy if it has one; revoked: None."""
        ...

    async def grant(self, user_id: UserId, account_id: AccountId) -> None: ...

    async def revoke_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        """Remove the grant; return False if there was none."""
        ...

    async def has_grant(self, user_id: UserId, account_id: AccountId) -> bool: ...

    async def revoke_other_grants(self, account_id: AccountId, keep: UserId) -> None:
        """Remove every user's grant to the account except ``keep``'s."""
        ...

    async def api_keys(self, user_id: UserId) -> list[ApiKeyInfo]:
        """Return the user's keys, revoked ones included, oldest first."""
        ...

    async def revoke_api_key(self, user_id: UserId, key_id: ApiKeyId, at: datetime) -> bool:
        """Revoke one of the user's live keys; return False if it has no such live key."""
        ...


class LoginStateRepository(Protocol):
    async def add(self, state: LoginState) -> None:
        """Store a pending login; the user's earlier ones for the account and expired ones go."""
        ...

    async def get(self, state_hash: str) -> LoginState | None: ...

    async def spend(self, state: LoginState, refusal: Exception) -> None:
        """Delete the state; if another request spent it first, ``refusal`` is raised.

        Like every refusal of a write, it may surface at ``commit()``.
        """
        ...


@dataclass(frozen=True, slots=True)
class FillPage:
    """A page of fills: these accounts', executed in [start, end), after the sequence ``after``."""

    account_ids: frozenset[AccountId]
    start: datetime
    end: datetime
    after: int | None = None
    limit: int = 100


class FillRepository(Protocol):
    async def add_new(self, fills: list[Fill]) -> list[Fill]:
        """Store the fills whose trade id the account has not stored yet; return those."""
        ...

    async def known_trade_ids(
        self, account_id: AccountId, trade_ids: Collection[TradeId]
    ) -> set[TradeId]:
        """Return those of ``trade_ids`` that the account's ledger holds."""
        ...

    async def for_order(self, order_id: OrderId) -> list[Fill]:
        """Return the order's fills in the order they were stored."""
        ...

    async def for_orders(self, order_ids: Collection[OrderId]) -> list[Fill]:
        """Return these orders' fills in the order they were stored."""
        ...

    async def for_account(
        self, account_id: AccountId, after: int | None = None, limit: int = 100
    ) -> list[Fill]:
        """Return a page of the account's fills, by sequence, after the sequence ``after``."""
        ...

    async def after(self, account_id: AccountId, sequence: int | None) -> list[Fill]:
        """Return the account's fills stored after ``sequence`` (all of them for None)."""
        ...

    async def page(self, wanted: FillPage) -> list[Fill]:
        """Return the fills ``wanted`` names, by sequence: a keyset page for a long range."""
        ...

    async def accounts_short(
        self, account_ids: Collection[AccountId], since: datetime
    ) -> list[AccountId]:
        """Return those of ``account_ids`` with an order created since ``since`` that has
        filled more, by the order book, than the ledger holds of it."""
        ...


class AccountEventRepository(Protocol):
    async def add(self, event: AccountEvent) -> None:
        """Append the event to the account's log (its sequence is assigned on storing)."""
        ...

    async def recent(self, account_id: AccountId, name: str, limit: int) -> list[AccountEvent]:
        """Return the account's newest ``limit`` events called ``name``, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """A page of the event feed within ``scope`` (required), after the feed sequence ``after``.

    ``names`` keeps only events of those stored names (None: all); ``until`` stops at that
    sequence (a stream catching up to where its live events begin).
    """

    scope: AccountScope
    after: int = 0
    limit: int = 100
    account_id: AccountId | None = None
    order_id: OrderId | None = None
    names: frozenset[str] | None = None
    until: int | None = None


class OrderFeedRepository(Protocol):
    """The order event log read in commit order (DESIGN.md section 9's feed)."""

    async def page(self, query: FeedQuery) -> list[FeedEvent]:
        """Return the events ``query`` names in feed order; none still in flight is passed."""
        ...

    async def last_sequence(self) -> int:
        """Return the feed sequence of the newest committed event (0 for none)."""
        ...


class WebhookRepository(Protocol):
    async def add(self, endpoint: WebhookEndpoint, cursor: int) -> None:
        """Store the endpoint, its secret encrypted; it gets the events after ``cursor``."""
        ...

    async def get(self, webhook_id: str) -> WebhookEndpoint | None: ...

    async def list(self, user_id: UserId) -> list[WebhookEndpoint]:
        """Return the user's endpoints, oldest first."""
        ...

    async def remove(self, webhook_id: str) -> None:
        """Delete the endpoint and its deliveries."""
        ...

    async def enabled(self) -> EnabledList:
        """Return every enabled endpoint with the last feed sequence handed to its deliveries."""
        ...

    async def advance(self, webhook_id: str, cursor: int) -> None:
        """Move the endpoint's cursor forward to ``cursor`` (never back)."""
        ...

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None: ...

    async def enable(self, webhook_id: str) -> None: ...

    async def add_event(self, event: WebhookEvent) -> None:
        """Note a change of the endpoint's own state (disabled, enabled) for its owner."""
        ...

    async def events(self, webhook_id: str, after: str | None, limit: int) -> WebhookEventList:
        """Return a page of the endpoint's own events, newest first, below the id ``after``."""
        ...

    async def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Store new deliveries; one the endpoint already has for that event is left out."""
        ...

    async def deliveries(self, webhook_id: str, after: str | None, limit: int) -> DeliveryList:
        """Return a page of the endpoint's deliveries, newest first, below the id ``after``."""
        ...

    async def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    async def claim_due(self, now: datetime, until: datetime, limit: int) -> DeliveryList:
        """Return up to ``limit`` pending deliveries due by ``now``, each put off to ``until``
        so that no other worker sends it meanwhile (a crashed sender's come back then)."""
        ...

    async def save_delivery(self, delivery: Delivery) -> None: ...


class HaltSignal(Protocol):
    """A counter of kill-switch changes shared by every process (the database holds the halts)."""

    async def changed(self) -> None:
        """Say that a halt was engaged or released (after its commit); never raises."""
        ...

    async def version(self) -> int | None:
        """The current count, or None if it cannot be read now."""
        ...

    async def close(self) -> None: ...


class EventSignal(Protocol):
    """Wake-ups when order events commit: in-process, or across processes (LISTEN/NOTIFY)."""

    def notify(self) -> None:
        """Say that events may have been committed by this process."""
        ...

    async def wait(self, seen: int, seconds: float) -> int:
        """Wait until a wake-up newer than ``seen`` (at most ``seconds``); return the newest."""
        ...

    async def close(self) -> None: ...


class WebhookSender(Protocol):
    """Sends one signed request to a receiver, refusing unsafe addresses."""

    async def send(self, circuit: str, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST ``body``; return the 2xx status. A non-2xx answer is ``UpstreamServiceError``
        (``details.status``, an excerpt of the body), an unreachable receiver or an open
        ``circuit`` ``ServiceUnavailableError``, an unsafe address ``ValidationError``."""
        ...

    async def check_url(self, url: str) -> None:
        """Refuse (``ValidationError``) a URL that may not receive webhooks."""
        ...

    async def close(self) -> None: ...


class InstrumentRepository(Protocol):
    async def replace_all(self, instruments: Sequence[Instrument], loaded_at: datetime) -> None:
        """Replace the stored instrument master (all or nothing, with the transaction)."""
        ...

    async def load(self) -> InstrumentMaster | None:
        """Return the stored master, or None if none was ever stored."""
        ...

    async def load_time(self) -> datetime | None:
        """Return when the stored master was loaded (None if never): one row, cheap."""
        ...


class RiskLimitRepository(Protocol):
    async def get(self, scope: RiskScope, scope_id: str) -> RiskLimits | None:
        """Return the limits stored for the scope, or None when none were ever set."""
        ...

    async def of_order(
        self, account_id: AccountId, strategy_id: StrategyId
    ) -> tuple[RiskLimits | None, RiskLimits | None]:
        """Return the account's and the strategy's stored limits, in one read."""
        ...

    async def put(
        self, scope: RiskScope, scope_id: str, account_id: AccountId, limits: RiskLimits,
        at: datetime, by: UserId,
    ) -> None:  # fmt: skip
        """Store the scope's limits in place of any before."""
        ...

    async def working(
        self, account_id: AccountId, strategy_id: StrategyId | None
    ) -> list[WorkingOrder]:
        """Return the unfilled part of each of the account's (the strategy's, if given)
        orders not yet in a final state, valued at its own price (else its trigger price)."""
        ...

    async def hold_account(self, account_id: AccountId) -> ControlMode | None:
        """Hold the account's row until this transaction ends, and return its control mode
        as it stands now (None if there is no such account): another placement checking the
        limits waits, so two cannot both take the last place under a count limit or the last
        room under an exposure limit; a mode change (an emergency stop) waits too."""
        ...

    async def open_orders(
        self, account_id: AccountId, strategy_id: StrategyId | None, up_to: int | None = None
    ) -> int:
        """Count the account's (the strategy's, if given) orders not yet in a final state,
        stopping at ``up_to`` (a limit needs no more)."""
        ...

    async def orders_since(
        self,
        account_id: AccountId,
        strategy_id: StrategyId | None,
        since: datetime,
        up_to: int | None = None,
    ) -> int:
        """Count the orders stored since ``since`` that were not refused before sending,
        stopping at ``up_to``."""
        ...

    async def last_unkeyed(self, request: OrderRequest, since: datetime) -> datetime | None:
        """When the newest order placed without an idempotency key with the same request as
        ``request`` (its fingerprint: every term as asked) was stored, if since ``since`` and
        it may have traded (not refused before or at the broker)."""
        ...


class KillSwitchRepository(Protocol):
    async def engage(self, halt: Halt, *, flatten: bool) -> Halt:
        """Engage ``halt`` unless its scope is engaged already; return the halt in force."""
        ...

    async def release(self, scope: HaltScope, by: UserId, at: datetime) -> None:
        """Remove the scope's halt and record who released it, and when."""
        ...

    async def get(self, scope: HaltScope) -> Halt | None: ...

    async def in_force(self) -> list[Halt]:
        """Every halt in force."""
        ...


class StoredSecretRepository(Protocol):
    """The secrets stored encrypted (broker secrets, access tokens, webhook secrets)."""

    async def unreadable(self) -> list[str]:
        """Name each stored secret that none of the configured keys decrypts."""
        ...

    async def rotate(self) -> int:
        """Re-encrypt every stored secret under the current key; return how many."""


class SignalTokenRepository(Protocol):
    async def add(self, token: SignalToken, token_hash: str) -> None:
        """Store a new token by the hash of its secret (never the secret)."""
        ...

    async def by_hash(self, token_hash: str) -> SignalToken | None:
        """Return the live token whose secret hashes to ``token_hash``; a revoked one is None."""
        ...

    async def list(self, strategy_id: StrategyId) -> list[SignalToken]:
        """Return the strategy's tokens, revoked ones included, oldest first."""
        ...

    async def revoke(self, strategy_id: StrategyId, token_id: SignalTokenId, at: datetime) -> bool:
        """Revoke the strategy's live token; False when it has no such live token."""
        ...


class UnitOfWork(Protocol):
    orders: OrderRepository
    accounts: AccountRepository
    strategies: StrategyRepository
    portfolios: PortfolioRepository
    users: UserRepository
    login_states: LoginStateRepository
    fills: FillRepository
    account_events: AccountEventRepository
    feed: OrderFeedRepository
    webhooks: WebhookRepository
    instruments: InstrumentRepository
    risk_limits: RiskLimitRepository
    control_modes: ControlModeRepository
    kill_switches: KillSwitchRepository
    secrets: StoredSecretRepository
    handoffs: HandoffRepository
    signal_tokens: SignalTokenRepository
    attributions: AttributionRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class UserDirectory(Protocol):
    async def authenticate(self, credential: str) -> Principal: ...

    def forget_all(self) -> None:
        """Drop what this process remembers of credentials, after a key or grant is revoked."""
        ...


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One order update pushed on an account's stream: the broker's report, or why it is none.

    ``user_id`` is the broker user the update names (None if it names none); ``problem`` says
    why a frame could not be read as an order (then ``report`` is None).
    """

    report: OrderStatusReport | None
    user_id: str | None = None
    problem: str | None = None


OrderUpdates = AsyncIterator[OrderUpdate]


class OrderStream(Protocol):
    """The broker's real-time order updates for one account (Kite's ticker WebSocket)."""

    def connect(self, session: BrokerSession) -> AbstractAsyncContextManager[OrderUpdates]:
        """Open the account's stream; leaving the context closes it.

        Entering raises ``AuthenticationError`` when the broker refuses the session and
        ``BrokerUnavailable`` when it cannot be reached; iterating yields updates until the
        connection drops, which raises ``BrokerUnavailable``.
        """
        ...
