"""Broker postbacks: a verified signal that an order changed, confirmed from the broker.

Kite's checksum covers only ``order_id + order_timestamp``, so a replayed checksum can carry any
status, fill or price in the rest of the body. A postback therefore never moves an order by
itself: once verified, it names an order of ours, and the order's state is read back from the
broker (``order_history``, inside the account's rate budget) and applied only as the broker
reports it. The body's own claim serves one purpose: a claim that is no news for our order
(a duplicate, a replay of an older update) or cannot be read costs no broker call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import Order
from order_service.domain.postback import is_authentic
from order_service.domain.reports import OrderStatusReport
from order_service.errors import BROKER_REFUSALS, AuthenticationRequired
from order_service.services.access import session_for
from order_service.services.ports import Broker, Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.writes import OrderWriter

# One broker confirmation per order in this window: a burst of postbacks (or replays of one)
# costs one order_history call; what a skipped one signalled, the order sync picks up.
CONFIRM_WINDOW = timedelta(seconds=1)
_MAX_TRACKED = 10_000


class PostbackOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # no news: a repeat, or older than what we hold
    UNKNOWN_ORDER = "unknown_order"  # not placed through us (Kite web, another app)
    MISMATCH = "mismatch"  # the broker id is ours but the tag is not: drift, never adopted
    DEFERRED = "deferred"  # not confirmed now (budget, session, recent confirmation): the sync will


@dataclass(frozen=True, slots=True)
class SignedPostback:
    """The four fields a postback is authenticated by, exactly as they arrived."""

    account_id: AccountId
    broker_order_id: BrokerOrderId
    order_timestamp: str
    checksum: str


@dataclass(frozen=True, slots=True)
class VerifiedPostback:
    """A postback whose checksum matched the account's API secret; only ``verify`` makes one."""

    account_id: AccountId
    broker_order_id: BrokerOrderId


class PostbackService:
    """Verifies the broker's pushed order updates and confirms them before applying."""

    def __init__(self, uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._writer = OrderWriter(uow_factory, clock)
        self._confirmed: dict[tuple[AccountId, BrokerOrderId], datetime] = {}

    async def verify(self, signed: SignedPostback) -> VerifiedPostback:
        """Check the checksum; an unknown account and a wrong checksum are the same refusal."""
        async with self._uow() as uow:
            account = await uow.accounts.get(signed.account_id)
        secret = account.api_secret if account is not None else ""
        authentic = is_authentic(
            signed.broker_order_id, signed.order_timestamp, secret, signed.checksum
        )
        if account is None or not authentic:
            raise AuthenticationRequired("the postback could not be verified")
        return VerifiedPostback(signed.account_id, signed.broker_order_id)

    async def apply(
        self, postback: VerifiedPostback, claim: OrderStatusReport | None
    ) -> PostbackOutcome:
        """Find our order, and if the claim may be news, apply what the broker confirms."""
        async with self._uow() as uow:
            order = await _order_for(uow, postback, claim)
        if order is None:
            return PostbackOutcome.UNKNOWN_ORDER
        if claim is None:  # an unreadable body is no evidence of news: the sync will look
            return PostbackOutcome.DEFERRED
        if not order.is_reported_by(claim):
            return PostbackOutcome.MISMATCH
        if order.is_terminal or not order.would_accept(claim):
            return PostbackOutcome.DUPLICATE
        if not self._may_confirm(postback):
            return PostbackOutcome.DEFERRED
        return await self._confirm(order, postback)

    async def _confirm(self, order: Order, postback: VerifiedPostback) -> PostbackOutcome:
        report = await self._broker_view(order, postback)
        if report is None:
            return PostbackOutcome.DEFERRED
        if not order.is_reported_by(report):
            return PostbackOutcome.MISMATCH
        if not order.would_accept(report):
            return PostbackOutcome.DUPLICATE
        await self._writer.update(order, lambda o: o.adopt(report, self._clock.now()))
        return PostbackOutcome.APPLIED

    async def _broker_view(
        self, order: Order, postback: VerifiedPostback
    ) -> OrderStatusReport | None:
        """The order's latest state as the broker reports it; None if it cannot be read now."""
        async with self._uow() as uow:
            account = await uow.accounts.get(postback.account_id)
        assert account is not None  # verified a moment ago; accounts are never deleted
        try:
            session = session_for(account, self._clock.now())
            history = await self._broker.order_history(session, postback.broker_order_id)
        except BROKER_REFUSALS:
            return None
        return history[-1] if history else None

    def _may_confirm(self, postback: VerifiedPostback) -> bool:
        now = self._clock.now()
        key = (postback.account_id, postback.broker_order_id)
        last = self._confirmed.get(key)
        if last is not None and now - last < CONFIRM_WINDOW:
            return False
        if len(self._confirmed) >= _MAX_TRACKED:
            self._confirmed = {
                k: at for k, at in self._confirmed.items() if now - at < CONFIRM_WINDOW
            }
        self._confirmed[key] = now
        return True


async def _order_for(
    uow: UnitOfWork, postback: VerifiedPostback, claim: OrderStatusReport | None
) -> Order | None:
    order = await uow.orders.get_by_broker_order_id(postback.account_id, postback.broker_order_id)
    if order is None and claim is not None and claim.tag:
        # An order of unknown outcome has no broker id yet: its tag is how we recognise it.
        order = await uow.orders.get_by_tag(claim.tag)
        if order is not None and (
            order.account_id != postback.account_id or not order.may_be_found_by_tag(claim)
        ):
            return None
    return order
