"""Persisting order changes: one short transaction per state change, optimistic on the row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from order_service.domain.order import Order
from order_service.domain.status import OrderTrigger
from order_service.errors import (
    Conflict,
    OrderServiceError,
    StaleWrite,
)
from order_service.services.ports import BrokerSession, Clock, UnitOfWorkFactory

_ATTEMPTS = 3


def error_data(exc: OrderServiceError) -> dict[str, Any]:
    """Return what an order event records about a broker error."""
    return {"error_code": exc.error_code, "error_message": exc.message, **exc.details}


class OrderWriter:
    """Applies a change to an order and stores it with its events in the same transaction."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def update(
        self,
        order: Order,
        change: Callable[[Order], object],
        *,
        adding: Callable[[Order], Sequence[Order]] | None = None,
    ) -> Order:
        """Apply ``change`` and commit; if the row moved meanwhile, reload and apply it again.

        ``adding`` gives the new orders to insert in the same transaction, from the changed
        order (asked again at each attempt).
        """
        current = order
        for _ in range(_ATTEMPTS):
            change(current)
            added = adding(current) if adding is not None else ()
            async with self._uow() as uow:
                try:
                    await uow.orders.save(current)
                    for new in added:
                        await uow.orders.add(new)
                    await uow.commit()
                    return current
                except StaleWrite:
                    pass
            current = await self._reload(order)
        raise Conflict(
            "the order changed concurrently; retry",
            details={"order_id": order.order_id},
            retryable=True,
        )

    async def fail(self, order: Order, exc: OrderServiceError) -> Order:
        """Record a definite refusal."""
        data = error_data(exc)
        return await self.update(
            order, lambda o: o.move(OrderTrigger.FAIL, self._clock.now(), **data)
        )

    async def expire_session(self, session: BrokerSession) -> None:
        """Mark the account ``login_required``, if ``session`` is still its current one.

        A call sent with a token that a login has replaced since must not undo that login
        (wired once, around the broker, by bootstrap).
        """
        try:
            async with self._uow() as uow:
                await uow.accounts.require_login(session.account_id, session.access_token)
                await uow.commit()
        except StaleWrite:
            return  # a login stored a new token since the read: it stands

    async def _reload(self, order: Order) -> Order:
        async with self._uow() as uow:
            fresh = await uow.orders.get(order.order_id)
        if fresh is None:
            raise Conflict("the order disappeared", details={"order_id": order.order_id})
        return fresh
