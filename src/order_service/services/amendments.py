"""Modify and cancel: sent once; an ambiguous outcome is settled by reading the order back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from order_service.domain.account import Principal
from order_service.domain.events import ORDER_MODIFIED
from order_service.domain.ids import OrderId
from order_service.domain.order import Order, OrderChanges
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import (
    BROKER_REFUSALS,
    NOT_SENT,
    BrokerAPIError,
    BrokerOutcomeUnknown,
    OrderRejected,
    OrderServiceError,
    ServiceUnavailableError,
)
from order_service.services.access import session_for, visible_account, visible_order
from order_service.services.control import check_may_trade
from order_service.services.kill_switch import HaltGuard, NoHalts
from order_service.services.ports import Broker, BrokerSession, Clock, UnitOfWorkFactory
from order_service.services.risk import RiskGuard
from order_service.services.writes import OrderWriter, error_data

BrokerCall = Callable[[BrokerSession, Order], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Modification:
    """What a modification asks: its changes (for the pre-trade rules) and its ``force``."""

    changes: OrderChanges
    force: bool


class AmendmentService:
    """Modifies and cancels working orders at the broker."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        risk: RiskGuard | None = None,
        halts: HaltGuard | None = None,
    ) -> None:
        self._uow = uow_factory
        self._risk = risk  # a modified price or quantity passes the pre-trade rules first
        self._halts = halts or NoHalts()  # modifications only: a cancel reduces risk
        self._broker = broker
        self._clock = clock
        self._writer = OrderWriter(uow_factory, clock)

    async def modify_order(
        self, principal: Principal, order_id: OrderId, changes: OrderChanges, force: bool = False
    ) -> Order:
        """Send one modification; the 25-modification cap is checked before sending.

        A modification is trading: it is refused as a placement would be by the order's scope's
        control mode (``force`` as for a placement) and by the pre-trade rules. A cancel is
        always allowed.
        """
        order, session = await self._load(principal, order_id, _Modification(changes, force))
        await self._halts.refuse(principal, order.account_id)
        if not order.can_be_modified:
            raise OrderRejected(
                "Maximum allowed order modifications exceeded (25); cancel and place a new order",
                details={"order_id": order_id, "modification_count": order.modification_count},
            )

        async def send(session: BrokerSession, order: Order) -> None:
            assert order.broker_order_id is not None
            variety = order.request.variety
            await self._broker.modify_order(session, variety, order.broker_order_id, changes)

        return await self._amend(order, session, OrderTrigger.REQUEST_MODIFY, send, changes)

    async def cancel_order(self, principal: Principal, order_id: OrderId) -> Order:
        """Send one cancellation; a timed-out cancel is confirmed by reading, never resent."""
        order, session = await self._load(principal, order_id)

        async def send(session: BrokerSession, order: Order) -> None:
            assert order.broker_order_id is not None
            variety = order.request.variety
            await self._broker.cancel_order(session, variety, order.broker_order_id)

        return await self._amend(order, session, OrderTrigger.REQUEST_CANCEL, send, None)

    async def _load(
        self, principal: Principal, order_id: OrderId, modification: _Modification | None = None
    ) -> tuple[Order, BrokerSession]:
        """Read the order and its account; a modification is checked as a placement would be."""
        async with self._uow() as uow:
            order = await visible_order(uow, principal, order_id)
            account = await visible_account(uow, principal, order.account_id)
            session = session_for(account, self._clock.now())
            if modification is not None:
                force = modification.force
                await check_may_trade(uow, principal, account, order.strategy_id, force)
                if self._risk is not None:
                    await self._risk.check_modification(uow, session, order, modification.changes)
        return order, session

    async def _amend(
        self,
        order: Order,
        session: BrokerSession,
        trigger: OrderTrigger,
        send: BrokerCall,
        changes: OrderChanges | None,
    ) -> Order:
        fields = changes.as_dict() if changes is not None else {}
        data = {key: str(value) for key, value in fields.items()}
        requested_from: list[OrderStatus] = []

        def request(o: Order) -> None:
            requested_from[:] = [o.status]
            o.move(trigger, self._now(), **data)

        order = await self._writer.update(order, request)
        try:
            await send(session, order)
        except BrokerOutcomeUnknown:
            return await self._read_back(order, session)
        except BROKER_REFUSALS as exc:
            await self._withdraw(order, requested_from[0], exc, session)
            raise
        if changes is not None:
            order = await self._writer.update(
                order, lambda o: _count_modification(o, changes, self._now(), data)
            )
        return await self._read_back(order, session)

    async def _withdraw(
        self,
        order: Order,
        previous: OrderStatus,
        refusal: OrderServiceError,
        session: BrokerSession,
    ) -> None:
        """Undo the pending state of a refused amendment; read the broker's view if it answered."""
        pending, notes = order.status, error_data(refusal)
        order = await self._writer.update(
            order, lambda o: o.withdraw_amendment(pending, previous, self._now(), **notes)
        )
        if not isinstance(refusal, NOT_SENT):  # the broker answered: its view costs one read
            await self._read_back(order, session)

    async def _read_back(self, order: Order, session: BrokerSession) -> Order:
        """Apply the broker's current state of the order; if unreadable, leave it to the sync."""
        assert order.broker_order_id is not None
        try:
            history = await self._broker.order_history(session, order.broker_order_id)
        except (BrokerAPIError, ServiceUnavailableError):
            return order
        if not history:
            return order
        latest = history[-1]
        if not order.is_reported_by(latest):
            return order  # drift: the sync counts it; never adopt another order's report
        return await self._writer.update(order, lambda o: o.apply_report(latest, self._now()))

    def _now(self) -> datetime:
        return self._clock.now()


def _count_modification(
    order: Order, changes: OrderChanges, at: datetime, data: dict[str, str]
) -> None:
    order.modification_count += 1
    order.amend_terms(changes.as_dict(), at)
    order.record(ORDER_MODIFIED, at, **data)
