"""``RedisLeaseStore``: the LeaseStore port shared by every worker process through one Redis.

Each account has a lease hash (holder, token) that expires with its TTL (``PX``: Redis's own
clock judges expiry, so skewed process clocks do not matter) and a token counter that never
expires, so tokens only grow. Every operation is one Lua script, atomic in Redis:

- acquire: if the lease key is absent (the ``SET NX`` case) or already the caller's, ``INCR``
  the counter and write the lease with the new token and ``PX`` TTL; otherwise nothing.
- renew / release: compare holder and token, then ``PEXPIRE`` / ``DEL`` (compare-and-set).
- announce: a sorted set of holders scored by their expiry in Redis's ``TIME``.

The same store, under ``SCOPE_PREFIX``, holds the accounts' scope locks of handoff requests
(``scope_locks_redis``): acquire and release as for a lease, the token written with the modes.

An account's two keys share a hash tag, so they live in one cluster slot; renewals are one
script per account, sent in one pipeline. The counter is Redis data: a Redis that loses its
data restarts the tokens, and the database's fences then refuse every write under them
(``StaleLease``): run Redis with persistence (AOF) when it holds the leases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from order_service.domain.ids import AccountId
from order_service.errors import ServiceUnavailableError

DEFAULT_PREFIX = "order-service:lease:"
# The same grants serve as the handoff requests' scope locks, under keys of their own.
SCOPE_PREFIX = "order-service:scope:"

# KEYS: lease hash, token counter. ARGV: holder, ttl in ms. Returns the new token or nil.
_ACQUIRE = """
local current = redis.call('HGET', KEYS[1], 'holder')
if current and current ~= ARGV[1] then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
"""
# KEYS: lease hash. ARGV: holder, token, ttl in ms (renew) or holder, token (release).
_RENEW = """
local lease = redis.call('HMGET', KEYS[1], 'holder', 'token')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[3])
"""
_RELEASE = """
local lease = redis.call('HMGET', KEYS[1], 'holder', 'token')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return 0 end
return redis.call('DEL', KEYS[1])
"""
# KEYS: holders sorted set. ARGV: holder, ttl in ms. Returns how many holders are live.
_ANNOUNCE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
"""


class RedisLeaseStore:
    """Account leases with fencing tokens in Redis; unreachable Redis is ServiceUnavailable."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 2.0) -> None:
        self._prefix = prefix
        self._client = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self._acquire = self._client.register_script(_ACQUIRE)
        self._renew = self._client.register_script(_RENEW)
        self._release = self._client.register_script(_RELEASE)
        self._announce = self._client.register_script(_ANNOUNCE)

    def lease_key(self, account_id: AccountId) -> str:
        return f"{self._prefix}{{{account_id}}}:lease"

    def token_key(self, account_id: AccountId) -> str:
        return f"{self._prefix}{{{account_id}}}:token"

    @property
    def holders_key(self) -> str:
        return f"{self._prefix}holders"

    async def announce(self, holder: str, ttl: float) -> int:
        live = await self._call(self._announce(keys=[self.holders_key], args=[holder, _ms(ttl)]))
        return int(live)

    async def withdraw(self, holder: str) -> None:
        await self._call(self._client.zrem(self.holders_key, holder))

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        keys = [self.lease_key(account_id), self.token_key(account_id)]
        token = await self._call(self._acquire(keys=keys, args=[holder, _ms(ttl)]))
        return int(token) if token is not None else None

    async def renew(
        self, holder: str, tokens: Mapping[AccountId, int], ttl: float
    ) -> set[AccountId]:
        accounts = list(tokens)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for account_id in accounts:
                    args: list[str | int] = [holder, tokens[account_id], _ms(ttl)]
                    await self._renew(keys=[self.lease_key(account_id)], args=args, client=pipe)
                results = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return {account for account, done in zip(accounts, results, strict=True) if int(done)}

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        keys = [self.lease_key(account_id)]
        await self._call(self._release(keys=keys, args=[holder, token]))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, pending: Any) -> Any:
        try:
            return await pending
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _unavailable(exc: Exception) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "the lease store (Redis) is unreachable",
        details={"service": "redis", "reason": type(exc).__name__},
    )
