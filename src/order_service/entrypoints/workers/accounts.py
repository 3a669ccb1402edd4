"""Per-account passes: several accounts at once (each has its own budget), errors kept apart.

Only the accounts this process owns are worked on (``services.fencing.worker_ownership``: the
lease keeper in a worker process that shares the accounts, every account otherwise), and each
account's pass runs ``fenced``: its commits carry the lease's token, and are refused
(``StaleLease``) once another process holds a newer lease of the account.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.supervisor import Worker
from order_service.errors import BrokerUnavailable, OrderServiceError
from order_service.observability.logging import bind, get_logger
from order_service.observability.metrics import RECONCILIATION_DRIFT
from order_service.services.fencing import current_fence, fenced, worker_ownership, working_for
from order_service.services.ownership import Ownership

log = get_logger(__name__)
T = TypeVar("T")
CONCURRENT_ACCOUNTS = 8


async def for_each_account(
    what: str,
    accounts: Sequence[AccountId],
    sync: Callable[[AccountId], Awaitable[T]],
    observe: Callable[[AccountId, T], None],
) -> None:
    """Run ``sync`` for every account this process owns, then ``observe`` each result.

    An expected error of one account is logged and the others go on; if the broker was
    unreachable for any, that is raised once all are done, so the supervisor backs off.
    """
    gate = asyncio.Semaphore(CONCURRENT_ACCOUNTS)
    ownership = worker_ownership()

    async def one(account_id: AccountId) -> BrokerUnavailable | None:
        async with gate:
            if not ownership.owns(account_id):  # checked once its turn has come
                return None
            bind(account=account_id)
            try:
                result = await _owned_pass(what, ownership, account_id, sync)
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


async def _owned_pass(
    what: str,
    ownership: Ownership,
    account_id: AccountId,
    sync: Callable[[AccountId], Awaitable[T]],
) -> T:
    """Run one account's pass under its lease; log when it ran and under which token.

    The monotonic instants of the line are comparable between the processes of one machine.
    """
    with fenced(ownership, account_id):
        fence = current_fence()
        started = time.monotonic()
        try:
            return await sync(account_id)
        finally:
            log.debug(
                "account pass",
                work=what,
                account=account_id,
                token=fence.token if fence is not None else None,
                started=started,
                ended=time.monotonic(),
            )


class OwnedWorker:
    """A worker whose per-account fan-out works only on the accounts ``ownership`` holds."""

    def __init__(self, worker: Worker, ownership: Ownership) -> None:
        self._worker = worker
        self._ownership = ownership
        self.name = worker.name

    @property
    def interval(self) -> float:
        return self._worker.interval

    @interval.setter
    def interval(self, value: float) -> None:
        self._worker.interval = value

    async def run_once(self) -> None:
        with working_for(self._ownership):
            await self._worker.run_once()

    async def close(self) -> None:
        """Close what the worker holds across passes, as the supervisor would unwrapped."""
        close = getattr(self._worker, "close", None)
        if close is not None:
            await close()


def owned_workers(
    factories: Mapping[str, Callable[[], Worker]], ownership: Ownership
) -> dict[str, Callable[[], Worker]]:
    """Wrap each factory's workers in ``OwnedWorker``."""

    def wrapped(factory: Callable[[], Worker]) -> Callable[[], Worker]:
        return lambda: OwnedWorker(factory(), ownership)

    return {name: wrapped(factory) for name, factory in factories.items()}


def count_drift(drift: dict[str, int]) -> None:
    """Count what a reconciliation pass found, by kind (``reconciliation_drift_total``)."""
    for kind, found in drift.items():
        RECONCILIATION_DRIFT.labels(kind).inc(found)
