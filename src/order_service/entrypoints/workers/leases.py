"""The lease keeper as a supervised worker: renew, rebalance and take over account leases.

Its interval is the renew period, well within the lease TTL; a store that is unreachable is a
transient error (the supervisor backs off) and the leases then lapse by our own clock first,
so the process stops working on accounts before anyone else can be granted them.
"""

from __future__ import annotations

from order_service.observability.logging import get_logger
from order_service.observability.metrics import LEASE_CHANGES, LEASES_HELD
from order_service.services.leases import LeaseChanges, LeaseKeeper

log = get_logger(__name__)


class LeaseWorker:
    """One pass is one round of the keeper."""

    name = "leases"

    def __init__(self, keeper: LeaseKeeper) -> None:
        self._keeper = keeper
        self.interval = keeper.policy.renew_every

    async def run_once(self) -> None:
        try:
            changes = await self._keeper.keep()
        finally:
            LEASES_HELD.set(len(self._keeper.held()))
        observe_lease_changes(changes)


def observe_lease_changes(changes: LeaseChanges) -> None:
    """Count and log what a round (or the release at shutdown) changed."""
    for change, accounts in (
        ("acquired", changes.acquired),
        ("lost", changes.lost),
        ("released", changes.released),
        ("refused", changes.refused),
    ):
        LEASE_CHANGES.labels(change).inc(len(accounts))
        if accounts:
            log.info(f"leases {change}", accounts=sorted(accounts), held=changes.held)
    if changes.refused:
        log.error("a new lease's token was older than its fence", accounts=changes.refused)
    LEASES_HELD.set(changes.held)
