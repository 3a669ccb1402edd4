"""Per-account passes: several accounts at once (each has its own budget), errors kept apart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from order_service.domain.ids import AccountId
from order_service.errors import BrokerUnavailable, OrderServiceError
from order_service.observability.logging import bind, get_logger

log = get_logger(__name__)
T = TypeVar("T")
CONCURRENT_ACCOUNTS = 8


async def for_each_account(
    what: str,
    accounts: Sequence[AccountId],
    sync: Callable[[AccountId], Awaitable[T]],
    observe: Callable[[AccountId, T], None],
) -> None:
    """Run ``sync`` for every account, then ``observe`` each result.

    An expected error of one account is logged and the others go on; if the broker was
    unreachable for any, that is raised once all are done, so the supervisor backs off.
    """
    gate = asyncio.Semaphore(CONCURRENT_ACCOUNTS)

    async def one(account_id: AccountId) -> BrokerUnavailable | None:
        async with gate:
            bind(account=account_id)
            try:
                result = await sync(account_id)
            except BrokerUnavailable as exc:
                return exc
            except OrderServiceError as exc:
                log.warning(f"{what} failed", account=account_id, code=exc.error_code)
                return None
        observe(account_id, result)
        return None

    failures = await asyncio.gather(*(one(account) for account in accounts))
    unavailable = next((exc for exc in failures if exc is not None), None)
    if unavailable is not None:
        raise unavailable
