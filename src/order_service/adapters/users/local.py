"""``LocalUserDirectory``: authenticates API keys (hashed lookups) and HS256 JWTs locally."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from jwt.types import Options

from order_service.domain.account import Principal
from order_service.domain.ids import UserId
from order_service.errors import AuthenticationRequired
from order_service.services.ports import Clock, UnitOfWorkFactory
from order_service.services.users import hash_api_key, is_api_key

_CACHE_SECONDS = 5.0  # a revoked key or grant takes effect within this window
_CACHE_SIZE = 10_000
_LEEWAY_SECONDS = 30.0  # clock skew between the token's issuer and us


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What a bearer JWT needs besides a valid HS256 signature (from Settings)."""

    secret: str | None
    max_lifetime: timedelta
    issuer: str | None = None
    audience: str | None = None


class LocalUserDirectory:
    """Resolves a bearer credential to a Principal; fails closed on anything doubtful."""

    def __init__(self, uow_factory: UnitOfWorkFactory, rules: TokenRules, clock: Clock) -> None:
        self._uow = uow_factory
        self._rules = rules
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal]] = {}

    def forget_all(self) -> None:
        """Forget every cached credential: this process sees a revocation at once."""
        self._cache.clear()

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
        if not self._rules.secret:
            raise AuthenticationRequired("JWT authentication is not configured")
        claims = _verified_claims(token, self._rules.secret, self._rules)
        check_token_times(claims, self._clock.now().timestamp(), self._rules.max_lifetime)
        return UserId(str(claims["sub"]))


def _verified_claims(token: str, secret: str, rules: TokenRules) -> dict[str, Any]:
    """Check the signature, ``sub``, ``exp`` and, when configured, ``iss`` and ``aud``."""
    required = [
        "sub",
        "exp",
        *(["iss"] if rules.issuer else []),
        *(["aud"] if rules.audience else []),
    ]
    # Times are checked by check_token_times against our clock, not the library's wall clock.
    options: Options = {
        "require": required,
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=rules.issuer,
            audience=rules.audience,
            options=options,
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationRequired(f"invalid token: {exc}") from exc
    return claims


def check_token_times(claims: dict[str, Any], now: float, max_lifetime: timedelta) -> None:
    """Refuse a token that is expired, not yet valid, or lives longer than ``max_lifetime``."""
    expires = _instant(claims, "exp")
    issued = _instant(claims, "iat")
    not_before = _instant(claims, "nbf")
    assert expires is not None  # required by the decode
    if expires <= now - _LEEWAY_SECONDS:
        raise AuthenticationRequired("invalid token: it has expired")
    if any(start > now + _LEEWAY_SECONDS for start in (issued, not_before) if start is not None):
        raise AuthenticationRequired("invalid token: it is not valid yet")
    lifetime = expires - (issued if issued is not None else now)
    if lifetime > max_lifetime.total_seconds():
        raise AuthenticationRequired(
            f"invalid token: it lives longer than {int(max_lifetime.total_seconds())} s"
        )


def _instant(claims: dict[str, Any], name: str) -> float | None:
    """Read a NumericDate claim; anything but a finite number of seconds is refused."""
    if name not in claims:
        return None
    value = claims[name]
    refused = AuthenticationRequired(f"invalid token: {name} is not a NumericDate")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused
    try:
        seconds = float(value)
    except OverflowError as exc:  # an integer with hundreds of digits
        raise refused from exc
    if not math.isfinite(seconds):
        raise refused
    return seconds
