"""Startup reconciliation: each account this process takes on is held and reconciled once.

A fresh process (or one that has just taken over an account's background work) does not know
what happened at the broker meanwhile, so it holds each such account's new orders and releases
it after one full pass over the account's order and trade books. Accounts held by a login whose
own reconciliation could not reach the broker are retried here too.
"""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.services.startup import Reconciled

log = get_logger(__name__)
INTERVAL_SECONDS = 0.5


class StartupWorker:
    """One pass: hold the accounts newly taken on, reconcile every held one."""

    name = "startup_reconcile"

    def __init__(self, services: Services) -> None:
        self._services = services
        self._taken: set[AccountId] = set()  # held once by this instance already
        self.interval = INTERVAL_SECONDS

    async def run_once(self) -> None:
        startup = self._services.startup
        ownership = self._services.ownership
        held: list[AccountId] = []
        for account in await startup.live_accounts():
            account_id = account.account_id
            if not ownership.owns(account_id):
                self._taken.discard(account_id)  # held again if it comes back to us
                continue
            if account_id not in self._taken:
                await startup.hold(account_id)
                self._taken.add(account_id)
                held.append(account_id)
            elif account.reconcile_since is not None:
                held.append(account_id)
        await for_each_account("startup reconciliation", held, startup.run, _observe)


def _observe(account_id: AccountId, result: Reconciled | None) -> None:
    if result is None:
        return
    count_drift(result.orders.drift())
    count_drift(result.fills.drift())
    log.info(
        "account reconciled",
        account=account_id,
        orders_updated=result.orders.updated,
        fills_recorded=result.fills.recorded,
    )
