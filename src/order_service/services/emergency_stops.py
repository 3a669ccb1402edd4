"""The emergency stop: every working order of an account cancelled at the broker, and every
scope of it handed to people (DESIGN.md section 7, the ``emergency_stop`` trigger).

The account scope is TRANSITIONING while the cancels go out, so nobody places a new order
behind them; then every scope settles MANUAL, whatever the cancels' outcomes: a stop is never
left half done because one order could not be cancelled, and the answer says which.

An order whose send has no known outcome yet (NEW, SUBMITTING, UNKNOWN) may be live at the
broker: the account's book is read (a reconciliation pass, which settles each order it shows),
a few times at most while any is left, and each that turns out working is cancelled too; one
still without an outcome is reported with ``BROKER_OUTCOME_UNKNOWN``, never passed over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from order_service.domain.account import Principal
from order_service.domain.control import ControlMode, ControlTrigger, move
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import BrokerOutcomeUnknown, OrderServiceError
from order_service.services.access import visible_account
from order_service.services.amendments import AmendmentService
from order_service.services.cancellations import (
    CancelConfirmation,
    CancelOutcome,
    cancel_each,
    working_orders,
)
from order_service.services.handoffs import override_unfinished
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.reconcile import ReconcileService
from order_service.services.strategies import refuse_scripts

_UNRESOLVED = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN})


@dataclass(frozen=True, slots=True)
class EmergencyStop:
    account_id: AccountId
    control_mode: ControlMode
    outcomes: tuple[CancelOutcome, ...]


class EmergencyStopService:
    """Stops an account's trading at once, from the API or the command line."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        amendments: AmendmentService,
        clock: Clock,
        reconcile: ReconcileService,
        confirmation: CancelConfirmation,
        pause: Callable[[float], Awaitable[None]],
    ) -> None:
        self._uow = uow_factory
        self._amendments = amendments
        self._clock = clock
        self._reconcile = reconcile
        self._confirmation = confirmation
        self._pause = pause

    async def stop(self, principal: Principal, account_id: AccountId) -> EmergencyStop:
        """Cancel every working order of the account at the broker; leave every scope MANUAL."""
        refuse_scripts(principal)  # an algorithm does not get to cancel its people's orders
        working, unresolved = await self._begin(principal, account_id)
        outcomes = await cancel_each(self._amendments, principal, working)
        outcomes += await self._cancel_unresolved(principal, account_id, unresolved)
        mode = move(ControlMode.TRANSITIONING, ControlTrigger.SETTLE_MANUAL)
        async with self._uow() as uow:
            # A handoff under way never hands the account back to its algorithm after the stop.
            await override_unfinished(uow, account_id, self._clock.now())
            await uow.control_modes.set_account_mode(account_id, mode)
            await uow.control_modes.set_strategy_modes(account_id, mode)
            await uow.commit()
        return EmergencyStop(account_id, mode, outcomes)

    async def _begin(
        self, principal: Principal, account_id: AccountId
    ) -> tuple[list[Order], list[Order]]:
        """Put the account scope in TRANSITIONING; return its working orders, and those whose
        send has no known outcome."""
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
            mode = move(account.control_mode, ControlTrigger.EMERGENCY_STOP)
            await uow.control_modes.set_account_mode(account_id, mode)
            working = await working_orders(uow, account_id)
            unresolved = await _unresolved(uow, account_id)
            await uow.commit()
        return working, unresolved

    async def _cancel_unresolved(
        self, principal: Principal, account_id: AccountId, unresolved: list[Order]
    ) -> tuple[CancelOutcome, ...]:
        """Read the book until each order without an outcome has one (a few reads at most);
        cancel each that turned out working; report each still without one."""
        waiting = {order.order_id: order for order in unresolved}
        outcomes: list[CancelOutcome] = []
        for read in range(self._confirmation.reads):
            if not waiting:
                break
            if read:
                await self._pause(self._confirmation.pause)
            try:
                await self._reconcile.sync_account(account_id)
            except OrderServiceError:
                continue  # the book unread (broker down, budget spent): read again
            fresh = await self._fresh(account_id, waiting.keys())
            working = [o for o in fresh.values() if o.status.is_working]
            outcomes += await cancel_each(self._amendments, principal, working)
            waiting = {k: o for k, o in fresh.items() if o.status in _UNRESOLVED}
        unknown = BrokerOutcomeUnknown.code
        return (*outcomes, *(CancelOutcome(o, unknown) for o in waiting.values()))

    async def _fresh(self, account_id: AccountId, ids: Collection[OrderId]) -> dict[OrderId, Order]:
        """The orders among ``ids`` not yet settled, as stored now."""
        wanted = set(ids)
        async with self._uow() as uow:
            unsettled = await uow.orders.list_unsettled(account_id)
        return {o.order_id: o for o in unsettled if o.order_id in wanted}


async def _unresolved(uow: UnitOfWork, account_id: AccountId) -> list[Order]:
    return [o for o in await uow.orders.list_unsettled(account_id) if o.status in _UNRESOLVED]
