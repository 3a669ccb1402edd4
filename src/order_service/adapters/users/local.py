"""``LocalUserDirectory``: authenticates API keys (hashed lookups) and HS256 JWTs locally."""

from __future__ import annotations

import time

import jwt

from order_service.domain.account import Principal
from order_service.domain.ids import UserId
from order_service.errors import AuthenticationRequired
from order_service.services.ports import UnitOfWorkFactory
from order_service.services.users import hash_api_key, is_api_key

_CACHE_SECONDS = 5.0  # a revoked key or grant takes effect within this window
_CACHE_SIZE = 10_000
_LEEWAY_SECONDS = 30


class LocalUserDirectory:
    """Resolves a bearer credential to a Principal; fails closed on anything doubtful."""

    def __init__(self, uow_factory: UnitOfWorkFactory, jwt_secret: str | None) -> None:
        self._uow = uow_factory
        self._jwt_secret = jwt_secret
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def authenticate(self, credential: str) -> Principal:
        cached = self._cache.get(credential)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        principal = await self._resolve(credential)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[credential] = (time.monotonic() + _CACHE_SECONDS, principal)
        return principal

    async def _resolve(self, credential: str) -> Principal:
        if is_api_key(credential):
            async with self._uow() as uow:
                principal = await uow.users.by_api_key_hash(hash_api_key(credential))
        else:
            user_id = self._jwt_subject(credential)
            async with self._uow() as uow:
                principal = await uow.users.get(user_id)
        if principal is None:
            raise AuthenticationRequired("invalid credentials")
        return principal

    def _jwt_subject(self, token: str) -> UserId:
        if not self._jwt_secret:
            raise AuthenticationRequired("JWT authentication is not configured")
        try:
            claims = jwt.decode(
                token,
                self._jwt_secret,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
                leeway=_LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationRequired(f"invalid token: {exc}") from exc
        return UserId(str(claims["sub"]))
