"""``SessionExpiry``: the Broker port that marks an account ``login_required`` as its session dies.

A ``TokenException`` that outlives the gateway's one token reload means the account must log in
again. That rule lives here, once, around whatever broker ``bootstrap`` builds, so no use case
(placement, amendments, the sync, margins, postbacks) can forget it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from order_service.domain.history import Candle, CandleRequest
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.previews import BasketMargins, ContractNoteLine, Margin, PricedOrder
from order_service.domain.reports import (
    FillReport,
    HoldingReport,
    OrderBook,
    OrderStatusReport,
    PositionReport,
    QuoteReport,
    SegmentMargins,
    SliceReport,
)
from order_service.domain.values import Variety
from order_service.errors import AuthenticationError
from order_service.services.ports import Broker, BrokerSession, SessionGrant

T = TypeVar("T")
OnExpired = Callable[[BrokerSession], Awaitable[None]]


class SessionExpiry:
    """Calls ``on_expired(session)`` for every call that fails with an expired session."""

    def __init__(self, inner: Broker, on_expired: OnExpired) -> None:
        self.inner = inner
        self._on_expired = on_expired

    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        return self.inner.login_url(api_key, redirect_params)

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant:
        # A refused request token is the caller's error, not the end of a session.
        return await self.inner.create_session(account_id, api_key, api_secret, request_token)

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        return await self._watched(session, self.inner.place_order(session, request, tag))

    async def place_autoslice_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> list[SliceReport]:
        placed = self.inner.place_autoslice_order(session, request, tag)
        return await self._watched(session, placed)

    async def modify_order(
        self,
        session: BrokerSession,
        variety: Variety,
        broker_order_id: BrokerOrderId,
        changes: OrderChanges,
    ) -> None:
        call = self.inner.modify_order(session, variety, broker_order_id, changes)
        await self._watched(session, call)

    async def cancel_order(
        self, session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None:
        await self._watched(session, self.inner.cancel_order(session, variety, broker_order_id))

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        return await self._watched(session, self.inner.order_history(session, broker_order_id))

    async def orders(self, session: BrokerSession) -> OrderBook:
        return await self._watched(session, self.inner.orders(session))

    async def trades(self, session: BrokerSession) -> list[FillReport]:
        return await self._watched(session, self.inner.trades(session))

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]:
        return await self._watched(session, self.inner.order_trades(session, broker_order_id))

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]:
        return await self._watched(session, self.inner.margins(session))

    async def order_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        return await self._watched(session, self.inner.order_margins(session, orders))

    async def basket_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest], consider_positions: bool
    ) -> BasketMargins:
        call = self.inner.basket_margins(session, orders, consider_positions)
        return await self._watched(session, call)

    async def contract_note(
        self, session: BrokerSession, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        return await self._watched(session, self.inner.contract_note(session, orders))

    async def positions(self, session: BrokerSession) -> list[PositionReport]:
        return await self._watched(session, self.inner.positions(session))

    async def holdings(self, session: BrokerSession) -> list[HoldingReport]:
        return await self._watched(session, self.inner.holdings(session))

    async def instruments(self, session: BrokerSession) -> list[Instrument]:
        return await self._watched(session, self.inner.instruments(session))

    async def quotes(
        self, session: BrokerSession, instruments: Sequence[str]
    ) -> dict[str, QuoteReport]:
        return await self._watched(session, self.inner.quotes(session, instruments))

    async def historical(self, session: BrokerSession, ask: CandleRequest) -> list[Candle]:
        return await self._watched(session, self.inner.historical(session, ask))

    async def close(self) -> None:
        await self.inner.close()

    async def _watched(self, session: BrokerSession, call: Awaitable[T]) -> T:
        try:
            return await call
        except AuthenticationError:
            await self._on_expired(session)
            raise
