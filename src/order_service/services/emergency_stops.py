"""The emergency stop: every working order of an account cancelled at the broker, and every
scope of it handed to people (DESIGN.md section 7, the ``emergency_stop`` trigger).

The account scope is TRANSITIONING while the cancels go out, so nobody places a new order
behind them; then every scope settles MANUAL, whatever the cancels' outcomes: a stop is never
left half done because one order could not be cancelled, and the answer says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_service.domain.account import Principal
from order_service.domain.control import ControlMode, ControlTrigger, move
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.services.access import visible_account
from order_service.services.amendments import AmendmentService
from order_service.services.cancellations import CancelOutcome, cancel_each, working_orders
from order_service.services.handoffs import override_unfinished
from order_service.services.ports import Clock, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts


@dataclass(frozen=True, slots=True)
class EmergencyStop:
    account_id: AccountId
    control_mode: ControlMode
    outcomes: tuple[CancelOutcome, ...]


class EmergencyStopService:
    """Stops an account's trading at once, from the API or the command line."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, amendments: AmendmentService, clock: Clock
    ) -> None:
        self._uow = uow_factory
        self._amendments = amendments
        self._clock = clock

    async def stop(self, principal: Principal, account_id: AccountId) -> EmergencyStop:
        """Cancel every working order of the account at the broker; leave every scope MANUAL."""
        refuse_scripts(principal)  # an algorithm does not get to cancel its people's orders
        working = await self._begin(principal, account_id)
        outcomes = await cancel_each(self._amendments, principal, working)
        mode = move(ControlMode.TRANSITIONING, ControlTrigger.SETTLE_MANUAL)
        async with self._uow() as uow:
            # A handoff under way never hands the account back to its algorithm after the stop.
            await override_unfinished(uow, account_id, self._clock.now())
            await uow.control_modes.set_account_mode(account_id, mode)
            await uow.control_modes.set_strategy_modes(account_id, mode)
            await uow.commit()
        return EmergencyStop(account_id, mode, outcomes)

    async def _begin(self, principal: Principal, account_id: AccountId) -> list[Order]:
        """Put the account scope in TRANSITIONING; return its working orders."""
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
            mode = move(account.control_mode, ControlTrigger.EMERGENCY_STOP)
            await uow.control_modes.set_account_mode(account_id, mode)
            working = await working_orders(uow, account_id)
            await uow.commit()
        return working
