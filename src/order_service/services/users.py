"""Users and their API keys (stored hashed; the plain key is shown once)."""

from __future__ import annotations

import hashlib
import secrets

from order_service.domain.account import Principal, Role
from order_service.domain.ids import UserId, new_ulid
from order_service.errors import NotFound
from order_service.services.ports import Clock, UnitOfWorkFactory

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

    async def create_api_key(self, user_id: UserId) -> str:
        """Issue a new API key for the user and return it; only its hash is stored."""
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._uow() as uow:
            if await uow.users.get(user_id) is None:
                raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
            await uow.users.add_api_key(user_id, hash_api_key(key), self._clock.now())
            await uow.commit()
        return key

    async def get_user(self, user_id: UserId) -> Principal:
        async with self._uow() as uow:
            principal = await uow.users.get(user_id)
        if principal is None:
            raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
        return principal
