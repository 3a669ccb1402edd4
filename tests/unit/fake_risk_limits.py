"""The fake risk limits store, and the order counts read from the fake orders."""

from __future__ import annotations

from datetime import datetime

from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.domain.order import Order, OrderRequest
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.risk_book import WorkingOrder
from order_service.domain.status import OrderStatus
from tests.unit.fake_store import FakeRepository, FakeStore

_NEVER_SENT = {OrderStatus.DENIED, OrderStatus.FAILED}
_NEVER_TRADED = {*_NEVER_SENT, OrderStatus.REJECTED}


class FakeRiskLimitRepository(FakeRepository):
    async def get(self, scope: RiskScope, scope_id: str) -> RiskLimits | None:
        held = self._view().risk_limits.get((scope, scope_id))
        return held[1] if held is not None else None

    async def of_order(
        self, account_id: AccountId, strategy_id: StrategyId
    ) -> tuple[RiskLimits | None, RiskLimits | None]:
        return (
            await self.get(RiskScope.ACCOUNT, account_id),
            await self.get(RiskScope.STRATEGY, strategy_id),
        )

    async def put(
        self, scope: RiskScope, scope_id: str, account_id: AccountId, limits: RiskLimits,
        at: datetime, by: UserId,
    ) -> None:  # fmt: skip
        def putting(state: FakeStore) -> None:
            state.risk_limits[(scope, scope_id)] = (account_id, limits)

        self._stage(putting)

    async def working(
        self, account_id: AccountId, strategy_id: StrategyId | None
    ) -> list[WorkingOrder]:
        return [
            WorkingOrder(
                request.exchange.value,
                request.tradingsymbol,
                request.product.value,
                request.transaction_type,
                max(request.quantity - order.filled_quantity, 0),
                request.price if request.price is not None else request.trigger_price,
            )
            for order in self._orders(account_id, strategy_id)
            if not order.status.is_terminal
            for request in (order.request,)
        ]

    async def hold_account(self, account_id: AccountId) -> ControlMode | None:
        # One event loop, and the counts are read without a pause in between: nothing to lock.
        account = self._view().accounts.get(account_id)
        return account.control_mode if account is not None else None

    async def last_unkeyed(self, request: OrderRequest, since: datetime) -> datetime | None:
        times = [
            order.created_at
            for order in self._view().orders.values()
            if order.account_id == request.account_id
            and order.created_at >= since
            and order.client_order_id == order.order_id
            and order.status not in _NEVER_TRADED
            and order.request_fingerprint == request.fingerprint()
        ]
        return max(times, default=None)

    async def open_orders(
        self, account_id: AccountId, strategy_id: StrategyId | None, up_to: int | None = None
    ) -> int:
        mine = self._orders(account_id, strategy_id)
        return _at_most(up_to, sum(1 for order in mine if not order.status.is_terminal))

    async def orders_since(
        self,
        account_id: AccountId,
        strategy_id: StrategyId | None,
        since: datetime,
        up_to: int | None = None,
    ) -> int:
        mine = self._orders(account_id, strategy_id)
        found = sum(1 for o in mine if o.created_at >= since and o.status not in _NEVER_SENT)
        return _at_most(up_to, found)

    def _orders(self, account_id: AccountId, strategy_id: StrategyId | None) -> list[Order]:
        return [
            order
            for order in self._view().orders.values()
            if order.account_id == account_id
            and (strategy_id is None or order.strategy_id == strategy_id)
        ]


def _at_most(up_to: int | None, count: int) -> int:
    return count if up_to is None else min(count, up_to)
