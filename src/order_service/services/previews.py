"""Previews: what orders would block (Kite's margin calculators) and cost (its virtual contract
note) before they are sent, for one account the caller may see.

Each order is one whose terms our placement would accept (``OrderRequest``'s rules, checked by
the caller's schema and the domain), its instrument one the master knows when a master is
loaded, and its prices ones a JSON number holds: anything else is refused here, without a
broker call. Risk limits, the kill switch and control modes are not asked: nothing is placed.
The calls go through the broker gateway, so they spend the account's rate budget as any read
does, but never feed its circuit breaker (any caller who sees the account may send one).
"""

from __future__ import annotations

from collections.abc import Sequence

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId
from order_service.domain.order import OrderRequest
from order_service.domain.previews import (
    BasketMargins,
    ContractNoteLine,
    Margin,
    PricedOrder,
    check_sendable,
)
from order_service.services.access import session_for, visible_account
from order_service.services.instruments import InstrumentService
from order_service.services.ports import Broker, BrokerSession, Clock, UnitOfWorkFactory


class PreviewService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        instruments: InstrumentService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._instruments = instruments

    async def order_margins(
        self, principal: Principal, account_id: AccountId, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        """What each order would block on its own, as the broker computes it now."""
        check_sendable(orders)
        session = await self._session(principal, account_id, orders)
        return await self._broker.order_margins(session, orders)

    async def basket_margins(
        self,
        principal: Principal,
        account_id: AccountId,
        orders: Sequence[OrderRequest],
        consider_positions: bool,
    ) -> BasketMargins:
        """What the orders would block together (with the account's positions, if asked)."""
        check_sendable(orders)
        session = await self._session(principal, account_id, orders)
        return await self._broker.basket_margins(session, orders, consider_positions)

    async def contract_note(
        self, principal: Principal, account_id: AccountId, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        """What each order would cost, executed at its average price."""
        requests = [o.request for o in orders]
        check_sendable(requests, [o.average_price for o in orders])
        session = await self._session(principal, account_id, requests)
        return await self._broker.contract_note(session, orders)

    async def _session(
        self, principal: Principal, account_id: AccountId, orders: Sequence[OrderRequest]
    ) -> BrokerSession:
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
        if self._instruments is not None:
            await self._instruments.follow()
            for request in orders:
                self._instruments.check(request.exchange.value, request.tradingsymbol)
        return session_for(account, self._clock.now())
