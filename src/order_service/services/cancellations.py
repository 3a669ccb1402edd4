"""Cancelling many orders at once (an account's working orders): each at the broker, each
reported, and one failure never stopping the rest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import OrderServiceError
from order_service.services.access import visible_account
from order_service.services.amendments import AmendmentService
from order_service.services.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class CancelConfirmation:
    """How cancels (and orders without an outcome) are read back: up to ``reads`` reads,
    ``pause`` seconds apart."""

    reads: int = 10
    pause: float = 0.3

    @classmethod
    def within(cls, seconds: float, pause: float = 0.3) -> CancelConfirmation:
        return cls(max(1, round(seconds / pause) + 1), pause)


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """One working order's cancel: the status it was left in, and why the cancel failed if so."""

    order: Order
    error_code: str | None = None

    @property
    def status(self) -> OrderStatus:
        return self.order.status


async def working_orders(uow: UnitOfWork, account_id: AccountId) -> list[Order]:
    """The account's orders that rest at the broker and can be cancelled."""
    return [o for o in await uow.orders.list_unsettled(account_id) if o.status.is_working]


async def cancel_each(
    amendments: AmendmentService, principal: Principal, orders: Iterable[Order]
) -> tuple[CancelOutcome, ...]:
    """Cancel each order at the broker, one after another; a refusal is reported, not raised."""
    return tuple([await _cancel(amendments, principal, order) for order in orders])


class Cancellations:
    """Cancels all of an account's working orders for a user (``orders cancel-all``)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, amendments: AmendmentService) -> None:
        self._uow = uow_factory
        self._amendments = amendments

    async def cancel_working(
        self, principal: Principal, account_id: AccountId
    ) -> tuple[CancelOutcome, ...]:
        """Cancel every working order of an account the principal may act on."""
        async with self._uow() as uow:
            await visible_account(uow, principal, account_id)
            working = await working_orders(uow, account_id)
        return await cancel_each(self._amendments, principal, working)


async def _cancel(
    amendments: AmendmentService, principal: Principal, order: Order
) -> CancelOutcome:
    try:
        return CancelOutcome(await amendments.cancel_order(principal, order.order_id))
    except OrderServiceError as exc:  # reported per order; the others go on
        return CancelOutcome(order, exc.error_code)
