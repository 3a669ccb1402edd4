"""In-memory doubles of our own ports (fakes, not mocks)."""

from __future__ import annotations

import asyncio
import copy
import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from order_service.adapters.broker.fake import FakeBroker
from order_service.domain.account import Account, AccountScope, ApiKeyInfo, Principal, Strategy
from order_service.domain.events import OrderEvent
from order_service.domain.ids import (
    AccountId,
    ApiKeyId,
    BrokerOrderId,
    ClientOrderId,
    OrderId,
    StrategyId,
    UserId,
)
from order_service.domain.login import LoginState
from order_service.domain.order import Order, OrderRequest
from order_service.domain.status import OrderStatus
from order_service.errors import DuplicateClientOrderId, StaleWrite
from order_service.services.ports import (
    BrokerSession,
    Clock,
    OrderQuery,
)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:30 IST

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeStore:
    """The shared 'database' behind every FakeUnitOfWork."""

    def __init__(self) -> None:
        self.orders: dict[OrderId, Order] = {}
        self.events: list[OrderEvent] = []
        self.accounts: dict[AccountId, Account] = {}
        self.strategies: dict[StrategyId, Strategy] = {}
        self.users: dict[UserId, Principal] = {}
        self.keys: dict[ApiKeyId, ApiKeyRow] = {}
        self.login_states: dict[str, LoginState] = {}
        self.grants: set[tuple[UserId, AccountId]] = set()
        self.sequence = itertools.count(1)
        self.commits = 0
        # Yield to the event loop on idempotency-key reads, so concurrent requests interleave
        # between the read and the insert as they would against a real database.
        self.yield_on_key_read = False


class _Orders:
    def __init__(self, store: FakeStore, staged: list[object]) -> None:
        self._store = store
        self._staged = staged

    async def add(self, order: Order) -> None:
        staged = {o.order_id: o for kind, o in self._staged if kind == "order"}  # type: ignore[misc]
        for other in {**self._store.orders, **staged}.values():
            if (other.account_id, other.client_order_id) == (
                order.account_id,
                order.client_order_id,
            ):
                raise DuplicateClientOrderId(order.client_order_id)
        self._staged.append(("order", order))

    async def save(self, order: Order) -> None:
        stored = self._store.orders.get(order.order_id)
        if stored is None or stored.version != order.version:
            raise StaleWrite(order.order_id)
        self._staged.append(("order", order))

    async def get(self, order_id: OrderId) -> Order | None:
        order = self._store.orders.get(order_id)
        return copy.deepcopy(order) if order else None

    async def get_by_client_order_id(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Order | None:
        found = [
            copy.deepcopy(order)
            for order in self._store.orders.values()
            if (order.account_id, order.client_order_id) == (account_id, client_order_id)
        ]
        if self._store.yield_on_key_read:
            await asyncio.sleep(0)  # after the read: another request may insert meanwhile
        return found[0] if found else None

    async def get_by_broker_order_id(
        self, account_id: AccountId, broker_order_id: BrokerOrderId
    ) -> Order | None:
        for order in self._store.orders.values():
            if (order.account_id, order.broker_order_id) == (account_id, broker_order_id):
                return copy.deepcopy(order)
        return None

    async def get_by_tag(self, tag: str) -> Order | None:
        for order in self._store.orders.values():
            if order.tag == tag:
                return copy.deepcopy(order)
        return None

    async def list(self, query: OrderQuery) -> list[Order]:
        orders = sorted(self._store.orders.values(), key=lambda o: o.order_id, reverse=True)
        return [copy.deepcopy(o) for o in orders if _matches(o, query)][: query.limit]

    async def list_unsettled(self, account_id: AccountId) -> list[Order]:
        return [
            copy.deepcopy(o)
            for o in self._store.orders.values()
            if o.account_id == account_id and not o.is_terminal
        ]

    async def accounts_with_unsettled(self) -> list[AccountId]:
        return sorted({o.account_id for o in self._store.orders.values() if not o.is_terminal})

    async def events(self, order_id: OrderId) -> list[OrderEvent]:
        return [e for e in self._store.events if e.order_id == order_id]


def _matches(order: Order, query: OrderQuery) -> bool:
    checks = (
        query.scope.includes(order.account_id),
        query.account_id is None or order.account_id == query.account_id,
        query.status is None or order.status == query.status,
        query.strategy_id is None or order.strategy_id == query.strategy_id,
        query.after is None or order.order_id < query.after,
    )
    return all(checks)


class _Accounts:
    def __init__(self, store: FakeStore, staged: list[object]) -> None:
        self._store = store
        self._staged = staged

    async def add(self, account: Account) -> None:
        self._staged.append(("account", copy.deepcopy(account)))

    async def save(self, account: Account) -> None:
        self._staged.append(("account", copy.deepcopy(account)))

    async def get(self, account_id: AccountId) -> Account | None:
        account = self._store.accounts.get(account_id)
        return copy.deepcopy(account) if account else None

    async def list(self, scope: AccountScope) -> list[Account]:
        return [
            copy.deepcopy(a) for a in self._store.accounts.values() if scope.includes(a.account_id)
        ]


class _Strategies:
    def __init__(self, store: FakeStore, staged: list[object]) -> None:
        self._store = store
        self._staged = staged

    async def add(self, strategy: Strategy) -> None:
        self._staged.append(("strategy", strategy))

    async def get(self, strategy_id: StrategyId) -> Strategy | None:
        return self._store.strategies.get(strategy_id)

    async def get_default(self, account_id: AccountId) -> Strategy | None:
        for strategy in self._store.strategies.values():
            if strategy.account_id == account_id and strategy.is_default:
                return strategy
        return None


class _Users:
    def __init__(self, store: FakeStore, staged: list[object]) -> None:
        self._store = store
        self._staged = staged

    async def add(self, principal: Principal, created_at: datetime) -> None:
        self._staged.append(("user", principal))

    async def get(self, user_id: UserId) -> Principal | None:
        principal = self._store.users.get(user_id)
        if principal is None:
            return None
        granted = frozenset(a for u, a in self._store.grants if u == user_id)
        return replace(principal, account_ids=granted)

    async def add_api_key(
        self, user_id: UserId, key_id: ApiKeyId, key_hash: str, created_at: datetime
    ) -> None:
        self._staged.append(("key", ApiKeyRow(key_id, user_id, key_hash, created_at)))

    async def by_api_key_hash(self, key_hash: str) -> Principal | None:
        row = next((k for k in self._store.keys.values() if k.key_hash == key_hash), None)
        live = row is not None and row.revoked_at is None
        return await self.get(row.user_id) if row is not None and live else None

    async def grant(self, user_id: UserId, account_id: AccountId) -> None:
        self._staged.append(("grant", (user_id, account_id)))

    async def revoke_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        if not await self.has_grant(user_id, account_id):
            return False
        self._staged.append(("ungrant", (user_id, account_id)))
        return True

    async def has_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        return (user_id, account_id) in self._store.grants

    async def api_keys(self, user_id: UserId) -> list[ApiKeyInfo]:
        rows = sorted(self._store.keys.values(), key=lambda k: k.key_id)
        return [
            ApiKeyInfo(k.key_id, k.user_id, k.created_at, k.revoked_at)
            for k in rows
            if k.user_id == user_id
        ]

    async def revoke_api_key(self, user_id: UserId, key_id: ApiKeyId, at: datetime) -> bool:
        row = self._store.keys.get(key_id)
        if row is None or row.user_id != user_id or row.revoked_at is not None:
            return False
        self._staged.append(("key", replace(row, revoked_at=at)))
        return True


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: ApiKeyId
    user_id: UserId
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


class _LoginStates:
    def __init__(self, store: FakeStore, staged: list[object]) -> None:
        self._store = store
        self._staged = staged

    async def add(self, state: LoginState) -> None:
        self._staged.append(("login", state))

    async def get(self, state_hash: str) -> LoginState | None:
        return self._store.login_states.get(state_hash)

    async def spend(self, state: LoginState, refusal: Exception) -> None:
        self._staged.append(("spend", (state.state_hash, refusal)))


class FakeUnitOfWork:
    """Stages writes and applies them to the store on commit; rolls back otherwise."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._staged: list[object] = []
        self.orders = _Orders(store, self._staged)
        self.accounts = _Accounts(store, self._staged)
        self.strategies = _Strategies(store, self._staged)
        self.users = _Users(store, self._staged)
        self.login_states = _LoginStates(store, self._staged)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        for kind, item in self._staged:  # type: ignore[misc]
            _APPLY[kind](self._store, item)
        self._staged.clear()
        self._store.commits += 1

    async def rollback(self) -> None:
        self._staged.clear()


def _apply_order(store: FakeStore, order: Order) -> None:
    for event in order.pending_events:
        store.events.append(replace(event, sequence=next(store.sequence)))
    order.pending_events.clear()
    if order.order_id in store.orders:
        order.version += 1
    stored = copy.deepcopy(order)
    store.orders[order.order_id] = stored


def _add_login_state(store: FakeStore, state: LoginState) -> None:
    store.login_states = {
        key: other
        for key, other in store.login_states.items()
        if (other.account_id, other.user_id) != (state.account_id, state.user_id)
        and other.expires_at > state.created_at
    }
    store.login_states[state.state_hash] = state


def _spend_login_state(store: FakeStore, spent: tuple[str, Exception]) -> None:
    if store.login_states.pop(spent[0], None) is None:
        raise spent[1]


_APPLY = {
    "order": _apply_order,
    "account": lambda s, a: s.accounts.__setitem__(a.account_id, a),
    "strategy": lambda s, st: s.strategies.__setitem__(st.strategy_id, st),
    "user": lambda s, p: s.users.__setitem__(p.user_id, p),
    "key": lambda s, row: s.keys.__setitem__(row.key_id, row),
    "grant": lambda s, g: s.grants.add(g),
    "ungrant": lambda s, g: s.grants.discard(g),
    "login": _add_login_state,
    "spend": _spend_login_state,
}


class StoreCheckingBroker(FakeBroker):
    """A FakeBroker that notes what the store held for the order when ``place_order`` began."""

    def __init__(self, clock: Clock, store: FakeStore) -> None:
        super().__init__(clock)
        self._store = store
        self.seen: list[tuple[OrderStatus, list[str]]] = []

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        (order,) = [o for o in self._store.orders.values() if o.tag == tag]
        events = [e.name for e in self._store.events if e.order_id == order.order_id]
        self.seen.append((order.status, events))
        return await super().place_order(session, request, tag)


class GatedBroker(FakeBroker):
    """A FakeBroker whose ``place_order`` waits at a gate until the test opens it."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        self.entered.set()
        await self.gate.wait()
        return await super().place_order(session, request, tag)
