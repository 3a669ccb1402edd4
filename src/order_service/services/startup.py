"""Startup reconciliation: an account takes new orders only once its books match the broker's.

After a process start (or a process taking over an account's background work) and after every
login, what happened at the broker while nobody watched is unknown: orders filled or cancelled,
orders placed in the Kite app, orders a crashed process left in flight. The account is held
(``Account.reconcile_since``) until one full pass has read its order book (open, unsettled and
external orders) and its trade book (the day's fills); placements meanwhile wait briefly, then
fail with ``SERVICE_UNAVAILABLE`` (see ``OrderService``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from order_service.domain.account import EVERY_ACCOUNT, Account
from order_service.domain.ids import AccountId
from order_service.errors import ServiceUnavailableError
from order_service.services.ports import Clock, UnitOfWorkFactory
from order_service.services.reconcile import ReconcileService, SyncResult
from order_service.services.trades import TradeSyncResult, TradeSyncService

POLL_SECONDS = 0.2  # a held account is read this often by each placement waiting on it


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What an account's startup reconciliation found."""

    orders: SyncResult
    fills: TradeSyncResult


class StartupReconciliation:
    """Holds an account's new orders, reconciles its books, and releases the hold."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        reconcile: ReconcileService,
        trades: TradeSyncService,
        clock: Clock,
    ) -> None:
        self._uow = uow_factory
        self._reconcile = reconcile
        self._trades = trades
        self._clock = clock

    async def live_accounts(self) -> list[Account]:
        """Return the accounts with a live broker session (the ones with books to reconcile)."""
        async with self._uow() as uow:
            accounts = await uow.accounts.list(EVERY_ACCOUNT)
        now = self._clock.now()
        return [a for a in accounts if not a.is_removed and a.has_live_session(now)]

    async def hold(self, account_id: AccountId) -> None:
        """Hold the account's new orders until ``run`` has reconciled its books."""
        async with self._uow() as uow:
            await uow.accounts.require_reconciliation(account_id, self._clock.now())
            await uow.commit()

    async def run(self, account_id: AccountId) -> Reconciled | None:
        """Reconcile a held account and release it; None if it was not held.

        Broker errors propagate and leave the hold in place, for the next attempt.
        """
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        if account is None or account.reconcile_since is None:
            return None
        since = account.reconcile_since
        orders = await self._reconcile.sync_account(account_id)
        fills = await self._trades.sync_account(account_id)
        async with self._uow() as uow:
            await uow.accounts.mark_reconciled(account_id, since)
            await uow.commit()
        return Reconciled(orders, fills)


class ReconciliationGate:
    """What a placement for a held account does: wait briefly for the hold to go, or refuse."""

    def __init__(self, uow_factory: UnitOfWorkFactory, wait: timedelta) -> None:
        self._uow = uow_factory
        self._wait = wait.total_seconds()

    async def wait(self, account_id: AccountId) -> None:
        """Return once the account is released; ``ServiceUnavailableError`` after the wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            async with self._uow() as uow:
                account = await uow.accounts.get(account_id)
            if account is None or account.reconcile_since is None:
                return
        raise self.refusal(account_id)

    def refusal(self, account_id: AccountId) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            f"account {account_id} is being reconciled with the broker after a restart or a "
            "login; no order was sent; retry in a moment",
            details={"account_id": account_id, "reason": "reconciling", "retry_after_seconds": 1},
        )
