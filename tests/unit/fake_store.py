"""The fake database of the unit tests: the store, and what its repositories share.

The fake unit of work (``tests.unit.fakes.FakeUnitOfWork``) keeps the repository contract the
SQL one keeps: ``tests/integration/db/test_repository_contract*.py`` runs the same tests on it
and on SQLite and PostgreSQL. Each write is staged as a ``Change``: a function that checks a
store and changes it, or raises the refusal the database would. A write is checked at once
against what its unit of work sees (the committed store plus its own changes), and
``commit()`` checks every change again against the store as it is then, so a writer that raced
another is refused at the latest by its commit, as a database does. Reads see their unit of
work's own writes and hand out copies.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from order_service.domain.account import Account, Principal, Strategy
from order_service.domain.account_events import AccountEvent
from order_service.domain.attribution import AttributionId, ExitAttribution, Part
from order_service.domain.events import OrderEvent
from order_service.domain.fill import Fill
from order_service.domain.halt import Halt, HaltScope
from order_service.domain.handoff import Handoff, HandoffId
from order_service.domain.ids import (
    AccountId,
    ApiKeyId,
    OrderId,
    PortfolioId,
    SignalTokenId,
    StrategyId,
    UserId,
)
from order_service.domain.instrument import Instrument
from order_service.domain.login import LoginState
from order_service.domain.order import Order
from order_service.domain.portfolio import Portfolio
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.signal import SignalToken
from order_service.domain.webhook import Delivery, WebhookEndpoint, WebhookEvent

CONFLICT = "the change conflicts with stored data"  # the SQL adapter's words
Row = TypeVar("Row")


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: ApiKeyId
    user_id: UserId
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    strategy_id: StrategyId | None = None


class FakeStore:
    """The shared 'database' behind every FakeUnitOfWork; tests may read and seed it directly."""

    def __init__(self) -> None:
        self.orders: dict[OrderId, Order] = {}
        self.events: list[OrderEvent] = []
        self.accounts: dict[AccountId, Account] = {}
        self.strategies: dict[StrategyId, Strategy] = {}
        self.portfolios: dict[PortfolioId, Portfolio] = {}  # strategy_ids: the member rows
        self.users: dict[UserId, Principal] = {}
        self.users_created: dict[UserId, datetime] = {}
        self.keys: dict[ApiKeyId, ApiKeyRow] = {}
        self.login_states: dict[str, LoginState] = {}
        self.grants: set[tuple[UserId, AccountId]] = set()
        self.fills: list[Fill] = []
        self.account_events: list[AccountEvent] = []
        self.instruments: tuple[list[Instrument], datetime] | None = None  # the master, when
        self.risk_limits: dict[tuple[RiskScope, str], tuple[AccountId, RiskLimits]] = {}
        self.fences: dict[AccountId, int] = {}  # the newest lease token each account has seen
        self.webhooks: dict[str, tuple[WebhookEndpoint, int]] = {}  # with each one's cursor
        self.deliveries: dict[str, Delivery] = {}
        self.webhook_events: list[WebhookEvent] = []
        self.halts: dict[HaltScope, Halt] = {}
        self.halt_events: list[tuple[HaltScope, str, UserId]] = []  # scope, action, by whom
        self.handoffs: dict[HandoffId, Handoff] = {}
        self.signal_tokens: dict[SignalTokenId, tuple[SignalToken, str]] = {}  # with the hash
        self.attributions: dict[AttributionId, ExitAttribution] = {}
        self.scope_fences: dict[AccountId, int] = {}  # the newest scope-lock token written under
        self.allocations: list[tuple[AccountId, Part]] = []  # by the order they were written
        self.next_sequence = 1
        self.next_fill_sequence = 1
        self.next_account_event_sequence = 1
        self.commits = 0
        # Yield to the event loop on idempotency-key reads, so concurrent requests interleave
        # between the read and the insert as they would against a real database.
        self.yield_on_key_read = False

    def scratch(self) -> FakeStore:
        """Return a copy to try changes on: new containers, the same (never mutated) rows."""
        other = copy.copy(self)
        other.orders, other.events = dict(self.orders), list(self.events)
        other.accounts, other.strategies = dict(self.accounts), dict(self.strategies)
        other.portfolios = dict(self.portfolios)
        other.users, other.keys = dict(self.users), dict(self.keys)
        other.login_states, other.grants = dict(self.login_states), set(self.grants)
        other.fills = list(self.fills)
        other.account_events = list(self.account_events)
        other.fences = dict(self.fences)
        other.webhooks, other.deliveries = dict(self.webhooks), dict(self.deliveries)
        other.risk_limits = dict(self.risk_limits)
        other.webhook_events = list(self.webhook_events)
        other.halts, other.halt_events = dict(self.halts), list(self.halt_events)
        other.handoffs = dict(self.handoffs)
        other.signal_tokens = dict(self.signal_tokens)
        other.attributions = dict(self.attributions)
        other.scope_fences = dict(self.scope_fences)
        other.allocations = list(self.allocations)
        return other


# A staged write: checks the store it is given and changes it, or raises the refusal.
Change = Callable[[FakeStore], None]


class FakeRepository:
    """A repository of one unit of work: reads its view, stages its changes."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def _view(self) -> FakeStore:
        return self._unit.view()

    def _stage(self, change: Change) -> None:
        self._unit.stage(change)


class Unit(Protocol):
    """What a repository needs of its unit of work."""

    store: FakeStore

    def view(self) -> FakeStore: ...

    def stage(self, change: Change) -> None: ...


def copied(row: Row | None) -> Row | None:
    return copy.deepcopy(row) if row is not None else None
