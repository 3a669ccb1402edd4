"""``GuardedBroker``: the Broker port with each account's rate budget, circuit breaker and one
token reload in front of another Broker.

Every call first passes the account's breaker (fail fast while it is open), then reserves its
slot in the account's budget and waits for it, so the broker never sees more than Kite allows.
A TokenException means the broker did not process the request: if the account's stored session
has another token (a login happened meanwhile) the call is sent once more with it, even a
placement; otherwise the error goes up and the use case marks the account ``login_required``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from order_service.domain.budget import Bucket
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
from order_service.errors import (
    AuthenticationError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    DataFormatError,
    OrderServiceError,
)
from order_service.services.breaker import CircuitBreaker
from order_service.services.ports import (
    Broker,
    BrokerSession,
    RateBudget,
    SessionGrant,
    SessionSource,
)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# The broker, or the way to it, is unwell; any other error is the broker answering.
INFRASTRUCTURE_FAILURES = (BrokerUnavailable, BrokerOutcomeUnknown, DataFormatError)


@dataclass(frozen=True, slots=True)
class GatewayPolicy:
    """How long a call may wait for its slot, and when an account's circuit opens and probes."""

    max_wait: float
    breaker_failures: int
    breaker_cooldown: float


class GuardedBroker:
    """Paces, guards and re-authenticates the calls to ``inner``, per account."""

    def __init__(
        self,
        inner: Broker,
        budget: RateBudget,
        sessions: SessionSource,
        policy: GatewayPolicy,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._budget = budget
        self._sessions = sessions
        self._policy = policy
        self._now = now
        self._sleep = sleep
        self._breakers: dict[AccountId, CircuitBreaker] = {}

    def login_url(self, api_key: str, redirect_params: Mapping[str, str]) -> str:
        return self._inner.login_url(api_key, redirect_params)

    async def create_session(
        self, account_id: AccountId, api_key: str, api_secret: str, request_token: str
    ) -> SessionGrant:
        def send() -> Awaitable[SessionGrant]:
            return self._inner.create_session(account_id, api_key, api_secret, request_token)

        return await self._guarded(account_id, Bucket.OTHER, send)

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        def send(current: BrokerSession) -> Awaitable[BrokerOrderId]:
            return self._inner.place_order(current, request, tag)

        return await self._with_session(session, Bucket.ORDERS, send)

    async def place_autoslice_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> list[SliceReport]:
        def send(current: BrokerSession) -> Awaitable[list[SliceReport]]:
            return self._inner.place_autoslice_order(current, request, tag)

        return await self._with_session(session, Bucket.ORDERS, send)

    async def modify_order(
        self,
        session: BrokerSession,
        variety: Variety,
        broker_order_id: BrokerOrderId,
        changes: OrderChanges,
    ) -> None:
        def send(current: BrokerSession) -> Awaitable[None]:
            return self._inner.modify_order(current, variety, broker_order_id, changes)

        await self._with_session(session, Bucket.ORDERS, send)

    async def cancel_order(
        self, session: BrokerSession, variety: Variety, broker_order_id: BrokerOrderId
    ) -> None:
        def send(current: BrokerSession) -> Awaitable[None]:
            return self._inner.cancel_order(current, variety, broker_order_id)

        await self._with_session(session, Bucket.OTHER, send)

    async def order_history(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[OrderStatusReport]:
        def send(current: BrokerSession) -> Awaitable[list[OrderStatusReport]]:
            return self._inner.order_history(current, broker_order_id)

        return await self._with_session(session, Bucket.OTHER, send)

    async def orders(self, session: BrokerSession) -> OrderBook:
        return await self._with_session(session, Bucket.OTHER, self._inner.orders)

    async def trades(self, session: BrokerSession) -> list[FillReport]:
        return await self._with_session(session, Bucket.OTHER, self._inner.trades)

    async def order_trades(
        self, session: BrokerSession, broker_order_id: BrokerOrderId
    ) -> list[FillReport]:
        def send(current: BrokerSession) -> Awaitable[list[FillReport]]:
            return self._inner.order_trades(current, broker_order_id)

        return await self._with_session(session, Bucket.OTHER, send)

    async def margins(self, session: BrokerSession) -> list[SegmentMargins]:
        return await self._with_session(session, Bucket.OTHER, self._inner.margins)

    async def order_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest]
    ) -> list[Margin]:
        def send(current: BrokerSession) -> Awaitable[list[Margin]]:
            return self._inner.order_margins(current, orders)

        return await self._with_session(session, Bucket.OTHER, send, counted=False)

    async def basket_margins(
        self, session: BrokerSession, orders: Sequence[OrderRequest], consider_positions: bool
    ) -> BasketMargins:
        def send(current: BrokerSession) -> Awaitable[BasketMargins]:
            return self._inner.basket_margins(current, orders, consider_positions)

        return await self._with_session(session, Bucket.OTHER, send, counted=False)

    async def contract_note(
        self, session: BrokerSession, orders: Sequence[PricedOrder]
    ) -> list[ContractNoteLine]:
        def send(current: BrokerSession) -> Awaitable[list[ContractNoteLine]]:
            return self._inner.contract_note(current, orders)

        return await self._with_session(session, Bucket.OTHER, send, counted=False)

    async def positions(self, session: BrokerSession) -> list[PositionReport]:
        return await self._with_session(session, Bucket.OTHER, self._inner.positions)

    async def holdings(self, session: BrokerSession) -> list[HoldingReport]:
        return await self._with_session(session, Bucket.OTHER, self._inner.holdings)

    async def instruments(self, session: BrokerSession) -> list[Instrument]:
        return await self._with_session(session, Bucket.OTHER, self._inner.instruments)

    async def quotes(
        self, session: BrokerSession, instruments: Sequence[str]
    ) -> dict[str, QuoteReport]:
        def send(current: BrokerSession) -> Awaitable[dict[str, QuoteReport]]:
            return self._inner.quotes(current, instruments)

        # Not counted, as previews: any caller who may see the account can ask for market
        # data, and its failures must not stop the account's orders.
        return await self._with_session(session, Bucket.QUOTES, send, counted=False)

    async def historical(self, session: BrokerSession, ask: CandleRequest) -> list[Candle]:
        def send(current: BrokerSession) -> Awaitable[list[Candle]]:
            return self._inner.historical(current, ask)

        return await self._with_session(session, Bucket.HISTORICAL, send, counted=False)

    async def close(self) -> None:
        try:
            await self._inner.close()
        finally:
            await self._budget.close()

    async def _with_session(
        self,
        session: BrokerSession,
        bucket: Bucket,
        send: Callable[[BrokerSession], Awaitable[T]],
        *,
        counted: bool = True,
    ) -> T:
        try:
            return await self._guarded(session.account_id, bucket, lambda: send(session), counted)
        except AuthenticationError:
            fresh = await self._sessions(session.account_id)
            if fresh is None or fresh.access_token == session.access_token:
                raise
            return await self._guarded(fresh.account_id, bucket, lambda: send(fresh), counted)

    async def _guarded(
        self,
        account_id: AccountId,
        bucket: Bucket,
        send: Callable[[], Awaitable[T]],
        counted: bool = True,
    ) -> T:
        """Pace the call; ``counted`` calls also feed and probe the account's circuit. A
        preview or a market-data read is not counted: any caller who may see the account can
        send one, and its failures (a slow calculator, an answer we cannot read) must not stop
        the account's orders."""
        breaker = self._breaker(account_id)
        if not counted:
            breaker.admit_uncounted()
            await self._paced(account_id, bucket)
            return await send()
        trial = breaker.admit()
        try:
            await self._paced(account_id, bucket)
            return await _observed(breaker, send)
        finally:
            breaker.release(trial)

    async def _paced(self, account_id: AccountId, bucket: Bucket) -> None:
        wait = await self._budget.reserve(account_id, bucket, self._policy.max_wait)
        if wait > 0:
            await self._sleep(wait)

    def _breaker(self, account_id: AccountId) -> CircuitBreaker:
        breaker = self._breakers.get(account_id)
        if breaker is None:
            policy = self._policy
            breaker = CircuitBreaker(
                account_id, policy.breaker_failures, policy.breaker_cooldown, self._now
            )
            self._breakers[account_id] = breaker
        return breaker


async def _observed(breaker: CircuitBreaker, send: Callable[[], Awaitable[T]]) -> T:
    """Call the broker and tell the breaker whether it answered."""
    try:
        result = await send()
    except INFRASTRUCTURE_FAILURES:
        breaker.failed()
        raise
    except OrderServiceError:
        breaker.answered()
        raise
    breaker.answered()
    return result
