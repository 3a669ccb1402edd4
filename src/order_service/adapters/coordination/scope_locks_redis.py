"""``RedisScopeLocks``: the ScopeLocks port in Redis, the lease store's grants under
``SCOPE_PREFIX`` (``leases_redis`` says how a grant and its token work).

Giving a lock back is best effort. A request has done its work by then (its handoff committed,
or refused), so a Redis lost at that moment must not turn the answer into an error: the failure
is logged and counted (``order_service_errors_total{code="SERVICE_UNAVAILABLE"}``) and the lock
expires by its TTL. Taking one fails closed: an unreachable Redis refuses the request (503).
"""

from __future__ import annotations

from order_service.adapters.coordination.leases_redis import SCOPE_PREFIX, RedisLeaseStore
from order_service.domain.ids import AccountId
from order_service.errors import ServiceUnavailableError
from order_service.observability.logging import get_logger
from order_service.observability.metrics import ERRORS

log = get_logger(__name__)


class RedisScopeLocks:
    def __init__(self, url: str) -> None:
        self._store = RedisLeaseStore(url, prefix=SCOPE_PREFIX)

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        return await self._store.acquire(account_id, holder, ttl)

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        try:
            await self._store.release(account_id, holder, token)
        except ServiceUnavailableError as exc:
            ERRORS.labels(exc.error_code).inc()
            log.warning(
                "scope lock not given back; it expires by its ttl",
                account=account_id,
                code=exc.error_code,
                reason=exc.details.get("reason"),
            )

    async def close(self) -> None:
        await self._store.close()
