"""Broker postbacks: verified, de-duplicated, and applied like any other broker report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.postback import is_authentic
from order_service.domain.reports import OrderStatusReport
from order_service.errors import AuthenticationRequired, NotFound
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.writes import OrderWriter


class PostbackOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already known: a repeat, or older than what we hold
    UNKNOWN_ORDER = "unknown_order"  # not placed through us (Kite web, another app)


@dataclass(frozen=True, slots=True)
class Postback:
    account_id: AccountId
    order_timestamp: str
    checksum: str
    report: OrderStatusReport


class PostbackService:
    """Applies the broker's pushed order updates."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._writer = OrderWriter(uow_factory, clock)

    async def apply(self, postback: Postback) -> PostbackOutcome:
        """Verify the checksum with the account's API secret, then move the order forward."""
        async with self._uow() as uow:
            await _verify(uow, postback)
            order = await _order_for(uow, postback)
        if order is None:
            return PostbackOutcome.UNKNOWN_ORDER
        if not order.would_accept(postback.report):
            return PostbackOutcome.DUPLICATE
        await self._writer.update(order, lambda o: _adopt(o, postback.report, self._clock))
        return PostbackOutcome.APPLIED


async def _verify(uow: UnitOfWork, postback: Postback) -> None:
    account = await uow.accounts.get(postback.account_id)
    if account is None:
        raise NotFound(f"account {postback.account_id} not found")
    order_id = postback.report.broker_order_id
    if not is_authentic(order_id, postback.order_timestamp, account.api_secret, postback.checksum):
        raise AuthenticationRequired(
            "the postback checksum does not match", details={"order_id": order_id}
        )


async def _order_for(uow: UnitOfWork, postback: Postback) -> Order | None:
    report = postback.report
    order = await uow.orders.get_by_broker_order_id(postback.account_id, report.broker_order_id)
    if order is None and report.tag:
        # An order of unknown outcome has no broker id yet: its tag is how we recognise it.
        order = await uow.orders.get_by_tag(report.tag)
        if order is not None and order.account_id != postback.account_id:
            return None
    return order


def _adopt(order: Order, report: OrderStatusReport, clock: Clock) -> None:
    if order.broker_order_id is None:
        order.broker_order_id = report.broker_order_id
    order.apply_report(report, clock.now())
