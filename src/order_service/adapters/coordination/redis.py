"""``RedisRateBudget``: the RateBudget port shared by every process through one Redis.

Each reservation is one Lua script, so it is atomic across processes: it reads Redis's own
clock (``TIME``, so processes with skewed clocks still agree), prunes each window's sorted set,
finds the earliest slot that fits every window (the same rule as ``domain.budget``) and adds it.
Keys expire once their last reservation can no longer matter. Redis being unreachable is
``ServiceUnavailableError``: nothing is sent without a budget (fail closed).
"""

from __future__ import annotations

from uuid import uuid4

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from order_service.adapters.coordination.errors import budget_spent
from order_service.domain.budget import Bucket, BudgetRules, Window
from order_service.domain.ids import AccountId
from order_service.errors import ServiceUnavailableError

DEFAULT_PREFIX = "order-service:rate:"

# KEYS: one sorted set per window. ARGV: max_wait, margin, member, then limit and seconds per
# window. Scores go out as fixed-point text: Lua would print a float with 14 digits only.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local max_wait, margin, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local spans = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2 * i])
  local width = tonumber(ARGV[3 + 2 * i]) + margin
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.6f', now - width))
  if redis.call('ZCARD', key) >= limit then
    local flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    local times = {}
    for j = 2, #flat, 2 do times[#times + 1] = tonumber(flat[j]) end
    for first = 1, #times - limit + 1 do
      local last = times[first + limit - 1]
      if times[first] + width > last then
        spans[#spans + 1] = {last - width, times[first] + width}
      end
    end
  end
end
table.sort(spans, function(a, b) return a[1] < b[1] end)
local at = now
for _, span in ipairs(spans) do
  if span[1] >= at then break end
  if span[2] > at then at = span[2] end
end
local wait = at - now
if wait > max_wait then return {0, string.format('%.6f', wait)} end
for i, key in ipairs(KEYS) do
  local width = tonumber(ARGV[3 + 2 * i]) + margin
  redis.call('ZADD', key, string.format('%.6f', at), member)
  redis.call('PEXPIRE', key, math.ceil((wait + width) * 1000) + 1000)
end
return {1, string.format('%.6f', wait)}
"""


class RedisRateBudget:
    """Per-account budgets kept in Redis sorted sets, one per (account, bucket, window)."""

    def __init__(
        self,
        url: str,
        rules: BudgetRules,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 2.0,
    ) -> None:
        self._rules = rules
        self._prefix = prefix
        # One quick retry heals a pooled connection Redis dropped; a lost reply that is retried
        # reserves a second slot, which only ever slows us down.
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._script = self._client.register_script(_RESERVE)

    async def reserve(self, account_id: AccountId, bucket: Bucket, max_wait: float) -> float:
        windows = self._rules.of(bucket)
        keys = [self.key(account_id, bucket, window) for window in windows]
        args: list[str | float] = [max_wait, self._rules.margin, uuid4().hex]
        for window in windows:
            args += [window.limit, window.seconds]
        try:
            admitted, wait = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise ServiceUnavailableError(
                "the rate budget store (Redis) is unreachable; the broker call was not sent",
                details={"service": "redis", "reason": type(exc).__name__},
            ) from exc
        if not int(admitted):
            raise budget_spent(account_id, bucket, float(wait))
        return float(wait)

    def key(self, account_id: AccountId, bucket: Bucket, window: Window) -> str:
        """Return the sorted set of one window; the braces keep a bucket's keys in one slot."""
        return f"{self._prefix}{{{account_id}:{bucket.value}}}:{window.limit}/{window.seconds:g}"

    async def close(self) -> None:
        await self._client.aclose()
