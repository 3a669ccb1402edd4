"""``RedisHaltSignal``: the kill switch's change counter in Redis, every process's fast path.

The database holds the halts and stays the source of truth; Redis holds one counter that the
process engaging or releasing a halt bumps once its change has committed. Each process reads
the counter before trusting its view of the halts, and re-reads the halts from the database
when it moved, so a halt reaches every process at once instead of at its next refresh.

| what fails                       | what happens                                              |
|----------------------------------|-----------------------------------------------------------|
| the bump after an engage/release | logged; the change stands; others see it at their refresh |
| the read before a check          | ``None``: the view's own refresh (0.5 s) decides          |

Redis is never waited on for long (``timeout``): a Redis in trouble slows nothing past it.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from order_service.observability.logging import get_logger
from order_service.services.ports import HaltSignal

DEFAULT_KEY = "order-service:halts:version"
log = get_logger(__name__)


class RedisHaltSignal:
    def __init__(self, url: str, *, key: str = DEFAULT_KEY, timeout: float = 0.1) -> None:
        self._key = key
        self._client = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )

    async def changed(self) -> None:
        try:
            await self._client.incr(self._key)
        except (RedisError, OSError) as exc:
            log.warning("halt signal not sent", error=repr(exc))

    async def version(self) -> int | None:
        try:
            value = await self._client.get(self._key)
        except (RedisError, OSError) as exc:
            log.warning("halt signal not read", error=repr(exc))
            return None
        return int(value) if value is not None else 0

    async def close(self) -> None:
        await self._client.aclose()


_implements_port: type[HaltSignal] = RedisHaltSignal
