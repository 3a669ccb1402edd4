"""The fake account, strategy, user and login repositories, refusing what SQL refuses."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

from order_service.domain.account import (
    Account,
    AccountScope,
    ApiKeyInfo,
    Principal,
    Strategy,
    UserInfo,
)
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId
from order_service.domain.login import LoginState
from order_service.domain.values import TransactionType
from order_service.errors import Conflict, NotFound, StaleWrite
from tests.unit.fake_store import CONFLICT, ApiKeyRow, FakeRepository, FakeStore, copied


class FakeAccountRepository(FakeRepository):
    async def add(self, account: Account) -> None:
        row = copy.deepcopy(account)

        def insert(state: FakeStore) -> None:
            if row.account_id in state.accounts:
                raise Conflict(CONFLICT)
            state.accounts[row.account_id] = row

        self._stage(insert)

    async def save(self, account: Account) -> None:
        row = copy.deepcopy(account)

        def update(state: FakeStore) -> None:
            if row.account_id not in state.accounts:
                raise NotFound(f"account {row.account_id} not found")
            row.control_mode = state.accounts[row.account_id].control_mode  # a handoff's alone
            state.accounts[row.account_id] = row

        self._stage(update)

    async def get(self, account_id: AccountId) -> Account | None:
        return copied(self._view().accounts.get(account_id))

    async def require_login(self, account_id: AccountId, access_token: str) -> None:
        def clear(state: FakeStore) -> None:
            account = state.accounts.get(account_id)
            if account is None or account.access_token != access_token:
                raise StaleWrite("a login replaced the token")
            cleared = copy.deepcopy(account)
            cleared.require_login()
            state.accounts[account_id] = cleared

        current = self._view().accounts.get(account_id)
        if current is not None and current.access_token == access_token:
            self._stage(clear)

    async def require_reconciliation(self, account_id: AccountId, at: datetime) -> None:
        def hold(state: FakeStore) -> None:
            account = state.accounts.get(account_id)
            if account is not None and account.reconcile_since is None:
                state.accounts[account_id] = replace(account, reconcile_since=at)

        self._stage(hold)

    async def mark_reconciled(self, account_id: AccountId, since: datetime) -> None:
        def release(state: FakeStore) -> None:
            account = state.accounts.get(account_id)
            if account is not None and account.reconcile_since == since:
                state.accounts[account_id] = replace(account, reconcile_since=None)

        self._stage(release)

    async def list(self, scope: AccountScope) -> list[Account]:
        """Return the accounts in ``scope``, by id."""
        accounts = sorted(self._view().accounts.values(), key=lambda a: a.account_id)
        return [copy.deepcopy(a) for a in accounts if scope.includes(a.account_id)]


class FakeStrategyRepository(FakeRepository):
    async def add(self, strategy: Strategy) -> None:
        def insert(state: FakeStore) -> None:
            _check_strategy_keys(state, strategy)
            state.strategies[strategy.strategy_id] = strategy

        self._stage(insert)

    async def ensure_default(self, candidate: Strategy) -> Strategy:
        def insert(state: FakeStore) -> None:
            if _default_of(state, candidate.account_id) is None:
                _check_strategy_keys(state, candidate)
                state.strategies[candidate.strategy_id] = candidate

        self._stage(insert)
        default = _default_of(self._view(), candidate.account_id)
        assert default is not None
        return default

    async def save(self, strategy: Strategy) -> None:
        def update(state: FakeStore) -> None:
            stored = state.strategies.get(strategy.strategy_id)
            if stored is None:
                raise NotFound(f"strategy {strategy.strategy_id} not found")
            kept = replace(
                strategy,
                account_id=stored.account_id,
                is_default=stored.is_default,
                control_mode=stored.control_mode,  # written by a handoff alone
            )
            del state.strategies[strategy.strategy_id]
            try:
                _check_strategy_keys(state, kept)
            finally:
                state.strategies[strategy.strategy_id] = stored
            state.strategies[strategy.strategy_id] = kept

        self._stage(update)

    async def get(self, strategy_id: StrategyId) -> Strategy | None:
        return self._view().strategies.get(strategy_id)

    async def get_default(self, account_id: AccountId) -> Strategy | None:
        return _default_of(self._view(), account_id)

    async def list(self, scope: AccountScope) -> list[Strategy]:
        strategies = sorted(
            self._view().strategies.values(), key=lambda s: (s.account_id, s.strategy_id)
        )
        return [s for s in strategies if scope.includes(s.account_id) and not s.is_deleted]

    async def open_positions(self, strategy_id: StrategyId) -> int:
        net: dict[tuple[str, str, str], int] = {}
        for fill in self._view().fills:
            if fill.strategy_id != strategy_id:
                continue
            report = fill.report
            key = (report.exchange, report.tradingsymbol, report.product)
            sign = 1 if report.transaction_type is TransactionType.BUY else -1
            net[key] = net.get(key, 0) + sign * report.quantity
        return sum(1 for quantity in net.values() if quantity)


def _default_of(state: FakeStore, account_id: AccountId) -> Strategy | None:
    strategies = state.strategies.values()
    return next((s for s in strategies if s.account_id == account_id and s.is_default), None)


def _check_strategy_keys(state: FakeStore, strategy: Strategy) -> None:
    """Refuse an unknown account, a taken id, a live strategy's name, a second default."""
    if strategy.account_id not in state.accounts or strategy.strategy_id in state.strategies:
        raise Conflict(CONFLICT)
    for other in state.strategies.values():
        if other.account_id != strategy.account_id:
            continue
        live_names = not other.is_deleted and not strategy.is_deleted
        if (live_names and other.name == strategy.name) or (
            other.is_default and strategy.is_default
        ):
            raise Conflict(CONFLICT)


class FakeUserRepository(FakeRepository):
    async def add(self, principal: Principal, created_at: datetime) -> None:
        def insert(state: FakeStore) -> None:
            if principal.user_id in state.users:
                raise Conflict(CONFLICT)
            state.users[principal.user_id] = replace(principal, account_ids=frozenset())
            state.users_created[principal.user_id] = created_at

        self._stage(insert)
        for account_id in sorted(principal.account_ids):
            await self.grant(principal.user_id, account_id)

    async def get(self, user_id: UserId) -> Principal | None:
        return _principal(self._view(), user_id)

    async def list_users(self) -> list[UserInfo]:
        view = self._view()
        listed = [
            UserInfo(user.user_id, user.name, user.roles, view.users_created[user.user_id])
            for user in view.users.values()
        ]
        return sorted(listed, key=lambda user: (user.created_at, user.user_id))

    async def add_api_key(
        self,
        user_id: UserId,
        key_id: ApiKeyId,
        key_hash: str,
        created_at: datetime,
        strategy_id: StrategyId | None = None,
    ) -> None:
        row = ApiKeyRow(key_id, user_id, key_hash, created_at, strategy_id=strategy_id)

        def insert(state: FakeStore) -> None:
            taken = any(k.key_hash == key_hash for k in state.keys.values())
            unknown = strategy_id is not None and strategy_id not in state.strategies
            if user_id not in state.users or key_id in state.keys or taken or unknown:
                raise Conflict(CONFLICT)
            state.keys[key_id] = row

        self._stage(insert)

    async def by_api_key_hash(self, key_hash: str) -> Principal | None:
        """Return the key's owner; a revoked key belongs to nobody."""
        view = self._view()
        row = next((k for k in view.keys.values() if k.key_hash == key_hash), None)
        if row is None or row.revoked_at is not None:
            return None
        principal = _principal(view, row.user_id)
        if principal is None or row.strategy_id is None:
            return principal
        return replace(principal, strategy_id=row.strategy_id)

    async def grant(self, user_id: UserId, account_id: AccountId) -> None:
        """Let the user act on the account; granting twice is harmless."""

        def insert(state: FakeStore) -> None:
            if account_id not in state.accounts:  # users may live elsewhere, accounts may not
                raise Conflict(CONFLICT)
            state.grants.add((user_id, account_id))

        self._stage(insert)

    async def revoke_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        if not await self.has_grant(user_id, account_id):
            return False
        self._stage(lambda state: state.grants.discard((user_id, account_id)))
        return True

    async def revoke_other_grants(self, account_id: AccountId, keep: UserId) -> None:
        def remove(state: FakeStore) -> None:  # in place: tests may hold the store's set
            state.grants -= {g for g in state.grants if g[1] == account_id and g[0] != keep}

        self._stage(remove)

    async def has_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        return (user_id, account_id) in self._view().grants

    async def api_keys(self, user_id: UserId) -> list[ApiKeyInfo]:
        rows = sorted(self._view().keys.values(), key=lambda k: k.key_id)
        return [
            ApiKeyInfo(k.key_id, k.user_id, k.created_at, k.revoked_at, k.strategy_id)
            for k in rows
            if k.user_id == user_id
        ]

    async def revoke_api_key(self, user_id: UserId, key_id: ApiKeyId, at: datetime) -> bool:
        row = self._view().keys.get(key_id)
        if row is None or row.user_id != user_id or row.revoked_at is not None:
            return False
        self._stage(lambda state: state.keys.__setitem__(key_id, replace(row, revoked_at=at)))
        return True


def _principal(state: FakeStore, user_id: UserId) -> Principal | None:
    principal = state.users.get(user_id)
    if principal is None:
        return None
    granted = frozenset(a for u, a in state.grants if u == user_id)
    return replace(principal, account_ids=granted)


class FakeLoginStateRepository(FakeRepository):
    async def add(self, state: LoginState) -> None:
        """Store a pending login; the user's earlier ones for the account and expired ones go."""

        def insert(store: FakeStore) -> None:
            if state.account_id not in store.accounts:
                raise Conflict(CONFLICT)
            for key, other in list(store.login_states.items()):
                mine = (other.account_id, other.user_id) == (state.account_id, state.user_id)
                if mine or other.expires_at <= state.created_at:
                    del store.login_states[key]
            store.login_states[state.state_hash] = state

        self._stage(insert)

    async def get(self, state_hash: str) -> LoginState | None:
        return self._view().login_states.get(state_hash)

    async def spend(self, state: LoginState, refusal: Exception) -> None:
        def delete(store: FakeStore) -> None:
            if store.login_states.pop(state.state_hash, None) is None:
                raise refusal

        self._stage(delete)
