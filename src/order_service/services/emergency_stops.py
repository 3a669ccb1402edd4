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
from datetime import timedelta

from order_service.domain.account import EVERY_ACCOUNT, Principal
from order_service.domain.account_events import (
    EMERGENCY_STOP_COMPLETED,
    EMERGENCY_STOP_STARTED,
    AccountEvent,
)
from order_service.domain.control import ControlMode, ControlTrigger, move
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import IN_FLIGHT, OUTCOME_UNKNOWN
from order_service.errors import (
    BROKER_REFUSALS,
    BROKER_UNREAD,
    BrokerOutcomeUnknown,
    OrderServiceError,
)
from order_service.services.access import session_for, visible_account
from order_service.services.amendments import AmendmentService
from order_service.services.cancellations import (
    CancelConfirmation,
    CancelOutcome,
    cancel_each,
    working_orders,
)
from order_service.services.handoffs import FINISHER, override_unfinished
from order_service.services.liveness import Liveness
from order_service.services.ports import (
    Broker,
    BrokerSession,
    Clock,
    UnitOfWork,
    UnitOfWorkFactory,
)
from order_service.services.reconcile import ReconcileService
from order_service.services.strategies import refuse_scripts

INTERRUPTED_AFTER = timedelta(seconds=30)


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
        liveness: Liveness,
        broker: Broker,
    ) -> None:
        self._liveness = liveness
        self._broker = broker
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
        return await self._finish(principal, account_id, working, unresolved)

    async def accounts_interrupted(self) -> list[AccountId]:
        """The accounts whose scope is TRANSITIONING: a stop or a handoff may be under way."""
        async with self._uow() as uow:
            accounts = await uow.accounts.list(EVERY_ACCOUNT)
        return [a.account_id for a in accounts if a.control_mode is ControlMode.TRANSITIONING]

    async def finish_interrupted(self, account_id: AccountId) -> bool:
        """Finish a stop its process left half done (as the service); True if there was one."""
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None or account.control_mode is not ControlMode.TRANSITIONING:
                return False
            if any(h.strategy_id is None for h in await uow.handoffs.unfinished(account_id)):
                return False  # the account's own handoff holds it: the finisher's work
            started = await uow.account_events.recent(account_id, EMERGENCY_STOP_STARTED, 1)
            ended = await uow.account_events.recent(account_id, EMERGENCY_STOP_COMPLETED, 1)
            working = await working_orders(uow, account_id)
            unresolved = await _unresolved(uow, account_id)
        if not started or (ended and _sequence(ended[0]) > _sequence(started[0])):
            return False
        if await self._under_way(started[0]):
            return False  # still under way in the process that began it
        await self._finish(FINISHER, account_id, working, unresolved)
        return True

    async def _under_way(self, started: AccountEvent) -> bool:
        """True while the process that began the stop lives (a slow stop is not taken over),
        or, if it named none, until the start is ``INTERRUPTED_AFTER`` old."""
        instance = started.data.get("instance")
        if isinstance(instance, str):
            return bool(await self._liveness.alive({instance}))
        return self._clock.now() - started.occurred_at < INTERRUPTED_AFTER

    async def _finish(
        self,
        principal: Principal,
        account_id: AccountId,
        working: list[Order],
        unresolved: list[Order],
    ) -> EmergencyStop:
        outcomes = await cancel_each(self._amendments, principal, working)
        outcomes += await self._cancel_unresolved(principal, account_id, unresolved)
        mode = move(ControlMode.TRANSITIONING, ControlTrigger.SETTLE_MANUAL)
        async with self._uow() as uow:
            # A handoff under way never hands the account back to its algorithm after the stop.
            await override_unfinished(uow, account_id, self._clock.now())
            await uow.control_modes.set_account_mode(account_id, mode)
            await uow.control_modes.set_strategy_modes(account_id, mode)
            failed = sum(1 for o in outcomes if o.error_code is not None)
            await self._event(uow, account_id, EMERGENCY_STOP_COMPLETED, by=principal.user_id,
                              orders=len(outcomes), failed=failed)  # fmt: skip
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
            # A handoff under way is failed now, with the stop's start: if this process dies
            # before the end, no handoff can hand the account on behind the stop.
            await override_unfinished(uow, account_id, self._clock.now())
            await uow.control_modes.set_account_mode(account_id, mode)
            instance = self._liveness.instance_id
            await self._event(uow, account_id, EMERGENCY_STOP_STARTED, by=principal.user_id,
                              instance=instance)  # fmt: skip
            working = await working_orders(uow, account_id)
            unresolved = await _unresolved(uow, account_id)
            await uow.commit()
        return working, unresolved

    async def _event(
        self, uow: UnitOfWork, account_id: AccountId, name: str, **data: object
    ) -> None:
        await uow.account_events.add(AccountEvent(account_id, name, data, self._clock.now()))

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
            waiting = {k: o for k, o in fresh.items() if o.status in OUTCOME_UNKNOWN}
            for outcome in await self._cancel_by_tag(account_id, list(waiting.values())):
                outcomes.append(outcome)
                waiting.pop(outcome.order.order_id)
        unknown = BrokerOutcomeUnknown.code
        return (*outcomes, *(CancelOutcome(o, unknown) for o in waiting.values()))

    async def _cancel_by_tag(
        self, account_id: AccountId, orders: list[Order]
    ) -> list[CancelOutcome]:
        """Cancel, by the broker id the book shows under its tag, each order still being
        placed that the broker already holds (its placer records the outcome only later, and
        no pass settles it before): one outcome for each order found live at the broker."""
        # An UNKNOWN one the pass itself settles from the book once it shows it.
        tagged = [o for o in orders if o.tag is not None and o.status in IN_FLIGHT]
        if not tagged:
            return []
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
        try:
            if account is None:
                return []
            session = session_for(account, self._clock.now())
            book = await self._broker.orders(session)
        except BROKER_UNREAD:
            return []  # read again at the next round
        outcomes = []
        for order in tagged:
            live = [r for r in book.reports if r.tag == order.tag and _live(r)]
            if live:
                outcomes.append(await self._cancel_rows(session, order, live))
        return outcomes

    async def _cancel_rows(
        self, session: BrokerSession, order: Order, rows: list[OrderStatusReport]
    ) -> CancelOutcome:
        refused: str | None = None
        for row in rows:
            try:
                await self._broker.cancel_order(session, order.request.variety, row.broker_order_id)
            except BROKER_REFUSALS as exc:  # reported; the other rows are cancelled all the same
                refused = refused or exc.error_code
        return CancelOutcome(order, refused)

    async def _fresh(self, account_id: AccountId, ids: Collection[OrderId]) -> dict[OrderId, Order]:
        """The orders among ``ids`` not yet settled, as stored now."""
        wanted = set(ids)
        async with self._uow() as uow:
            unsettled = await uow.orders.list_unsettled(account_id)
        return {o.order_id: o for o in unsettled if o.order_id in wanted}


def _live(report: OrderStatusReport) -> bool:
    return report.status is not None and not report.status.is_terminal


def _sequence(event: AccountEvent) -> int:
    return event.sequence if event.sequence is not None else 0


async def _unresolved(uow: UnitOfWork, account_id: AccountId) -> list[Order]:
    return [o for o in await uow.orders.list_unsettled(account_id) if o.status in OUTCOME_UNKNOWN]
