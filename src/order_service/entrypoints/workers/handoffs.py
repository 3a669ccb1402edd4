"""The handoff finisher: moves every unfinished handoff on, in the process owning its account.

A handoff is finished by whichever process holds its account (a lease, or every account for a
single process), on its next pass: one left by an API process that died completes or is rolled
back here, never TRANSITIONING for good. So is an emergency stop left half done.
"""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.entrypoints.workers.accounts import for_each_account

PASS_SECONDS = 0.5


class HandoffWorker:
    name = "handoffs"
    interval = PASS_SECONDS

    def __init__(self, services: Services) -> None:
        self._handoffs = services.handoffs
        self._stops = services.emergency_stops

    async def run_once(self) -> None:
        accounts = await self._handoffs.accounts_unfinished()
        await for_each_account("handoffs", accounts, self._handoffs.finish_account, _ignore)
        stopping = await self._stops.accounts_interrupted()
        await for_each_account("stops", stopping, self._stops.finish_interrupted, _ignore)


def _ignore(_account: object, _open: int) -> None:
    """Nothing to observe: each step is written as the handoff's own event."""
