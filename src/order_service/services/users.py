"""Users and their API keys (stored hashed; the plain key is shown once)."""

from __future__ import annotations

import hashlib
import secrets

from order_service.domain.account import ApiKeyInfo, Principal, Role, UserInfo
from order_service.domain.ids import ApiKeyId, StrategyId, UserId, new_ulid
from order_service.errors import NotFound
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts, visible_strategy

API_KEY_PREFIX = "os_"


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key (keys are 256-bit random, so SHA-256 suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)


class UserService:
    """Creates users and issues their API keys."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def create_user(self, name: str, roles: frozenset[Role]) -> Principal:
        principal = Principal(UserId(new_ulid()), name, roles or frozenset({Role.TRADER}))
        async with self._uow() as uow:
            await uow.users.add(principal, self._clock.now())
            await uow.commit()
        return principal

    async def create_api_key(self, user_id: UserId, strategy_id: StrategyId | None = None) -> str:
        """Issue a new API key for the user and return it; only its hash is stored."""
        _, key = await self.issue_api_key(user_id, strategy_id)
        return key

    async def issue_api_key(
        self, user_id: UserId, strategy_id: StrategyId | None = None
    ) -> tuple[ApiKeyInfo, str]:
        """Issue a key, bound to a strategy of one of the user's accounts if one is named.

        A bound key is a script's: its orders go to that strategy, as SCRIPT orders.
        """
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        info = ApiKeyInfo(ApiKeyId(new_ulid()), user_id, self._clock.now(), None, strategy_id)
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
            if strategy_id is not None:
                await _bindable(uow, user, strategy_id)
            await uow.users.add_api_key(
                user_id, info.key_id, hash_api_key(key), info.created_at, strategy_id
            )
            await uow.commit()
        return info, key

    async def issue_own_api_key(
        self, principal: Principal, strategy_id: StrategyId | None
    ) -> tuple[ApiKeyInfo, str]:
        """Issue the caller a key; a script's key may not mint keys (it would escape its
        strategy)."""
        refuse_scripts(principal)
        return await self.issue_api_key(principal.user_id, strategy_id)

    async def get_user(self, user_id: UserId) -> Principal:
        async with self._uow() as uow:
            principal = await uow.users.get(user_id)
        if principal is None:
            raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
        return principal

    async def list_users(self) -> list[UserInfo]:
        """Return every user (ids, names, roles, when created), oldest first."""
        async with self._uow() as uow:
            return await uow.users.list_users()

    async def api_keys(self, user_id: UserId) -> list[ApiKeyInfo]:
        """Return the user's API keys (ids and dates only), revoked ones included."""
        async with self._uow() as uow:
            return await uow.users.api_keys(user_id)

    async def revoke_api_key(self, user_id: UserId, key_id: ApiKeyId) -> None:
        """Revoke one of the user's keys; another user's key is as absent as a missing one.

        Every process stops accepting it within the directory's cache window (5 s).
        """
        async with self._uow() as uow:
            if not await uow.users.revoke_api_key(user_id, key_id, self._clock.now()):
                raise NotFound(f"no live API key {key_id}", details={"key_id": key_id})
            await uow.commit()


async def _bindable(uow: UnitOfWork, user: Principal, strategy_id: StrategyId) -> None:
    """A key may be bound to a strategy of the user's accounts that takes orders."""
    strategy = await visible_strategy(uow, user, strategy_id)
    strategy.check_takes_orders()
