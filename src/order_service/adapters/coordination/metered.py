"""``MeteredRateBudget``: any RateBudget, with every granted wait observed as a metric."""

from __future__ import annotations

from order_service.domain.budget import Bucket
from order_service.domain.ids import AccountId
from order_service.observability.metrics import RATE_LIMIT_WAIT
from order_service.services.ports import RateBudget


class MeteredRateBudget:
    """Observes ``order_service_rate_limit_wait_seconds``; services never import metrics."""

    def __init__(self, inner: RateBudget) -> None:
        self._inner = inner

    async def reserve(self, account_id: AccountId, bucket: Bucket, max_wait: float) -> float:
        wait = await self._inner.reserve(account_id, bucket, max_wait)
        RATE_LIMIT_WAIT.labels(bucket.value).observe(wait)
        return wait

    async def close(self) -> None:
        await self._inner.close()
