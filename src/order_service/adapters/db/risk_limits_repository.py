"""Risk limits by scope, and the order counts the count limits are held to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, and_, bindparam, delete, func, insert, or_, select

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.runners import StatementRunner
from order_service.adapters.db.tables import accounts, orders, risk_limits, unsettled
from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.domain.order import OrderRequest
from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.risk_book import WorkingOrder
from order_service.domain.status import OrderStatus
from order_service.domain.values import TransactionType

_NEVER_SENT = [OrderStatus.DENIED.value, OrderStatus.FAILED.value]
_NEVER_TRADED = [*_NEVER_SENT, OrderStatus.REJECTED.value]
# The newest unkeyed order of the same request (its client order id is its own id; the
# fingerprint is of the request as asked, whatever a slice or a modification rewrote since).
_LAST_UNKEYED = select(func.max(orders.c.created_at).label("at")).where(
    orders.c.account_id == bindparam("account_id"),
    orders.c.created_at >= bindparam("since"),
    orders.c.request_fingerprint == bindparam("fingerprint"),
    orders.c.client_order_id == orders.c.order_id,
    orders.c.status.not_in(_NEVER_TRADED),
)
_HOLD = (
    select(accounts.c.control_mode)
    .where(accounts.c.account_id == bindparam("account_id"))
    .with_for_update()
)
_WORKING = (
    orders.c.exchange, orders.c.tradingsymbol, orders.c.product, orders.c.transaction_type,
    orders.c.quantity, orders.c.filled_quantity, orders.c.price, orders.c.trigger_price,
)  # fmt: skip
# Built once: composing a statement costs more than running it on the placement path.
_OF_ORDER = select(risk_limits.c.scope, risk_limits.c.limits).where(
    or_(
        and_(risk_limits.c.scope == RiskScope.ACCOUNT.value,
             risk_limits.c.scope_id == bindparam("account_id")),
        and_(risk_limits.c.scope == RiskScope.STRATEGY.value,
             risk_limits.c.scope_id == bindparam("strategy_id")),
    )
)  # fmt: skip


class SqlRiskLimitRepository(SqlRepository):
    """One per unit of work (its transaction): what it holds is held until that ends."""

    def __init__(self, runner: StatementRunner) -> None:
        super().__init__(runner)
        self._held: dict[AccountId, ControlMode | None] = {}

    async def get(self, scope: RiskScope, scope_id: str) -> RiskLimits | None:
        row = await self._one_or_none(select(risk_limits.c.limits).where(_scope(scope, scope_id)))
        return RiskLimits.from_stored(dict(row["limits"])) if row is not None else None

    async def of_order(
        self, account_id: AccountId, strategy_id: StrategyId
    ) -> tuple[RiskLimits | None, RiskLimits | None]:
        statement = _OF_ORDER.params(account_id=account_id, strategy_id=strategy_id)
        found = {
            row["scope"]: RiskLimits.from_stored(dict(row["limits"]))
            for row in await self._all(statement)
        }
        return found.get(RiskScope.ACCOUNT.value), found.get(RiskScope.STRATEGY.value)

    async def put(
        self, scope: RiskScope, scope_id: str, account_id: AccountId, limits: RiskLimits,
        at: datetime, by: UserId,
    ) -> None:  # fmt: skip
        await self._execute(delete(risk_limits).where(_scope(scope, scope_id)))
        row = {
            "scope": scope.value, "scope_id": scope_id, "account_id": account_id,
            "limits": limits.as_dict(), "updated_at": at, "updated_by": by,
        }  # fmt: skip
        await self._execute(insert(risk_limits), [row])

    async def working(
        self, account_id: AccountId, strategy_id: StrategyId | None
    ) -> list[WorkingOrder]:
        statement = select(*_WORKING).where(
            _of(account_id, strategy_id), unsettled(orders.c.status)
        )
        return [_working(row) for row in await self._all(statement)]

    async def hold_account(self, account_id: AccountId) -> ControlMode | None:
        # The account's row, locked (PostgreSQL; SQLite has one writer at a time already).
        # Held, its mode cannot change until this transaction ends: a placement holding it for
        # its limits and again for its mode reads it once.
        if account_id not in self._held:
            row = await self._one_or_none(_HOLD.params(account_id=account_id))
            self._held[account_id] = ControlMode(row["control_mode"]) if row else None
        return self._held[account_id]

    def release(self) -> None:
        """The transaction ends: what it held is no longer held."""
        self._held.clear()

    async def last_unkeyed(self, request: OrderRequest, since: datetime) -> datetime | None:
        statement = _LAST_UNKEYED.params(
            account_id=request.account_id, since=since, fingerprint=request.fingerprint()
        )
        row = await self._one_or_none(statement)
        return row["at"] if row is not None else None

    async def open_orders(
        self, account_id: AccountId, strategy_id: StrategyId | None, up_to: int | None = None
    ) -> int:
        wanted = _of(account_id, strategy_id), unsettled(orders.c.status)
        return await self._count(up_to, *wanted)

    async def orders_since(
        self,
        account_id: AccountId,
        strategy_id: StrategyId | None,
        since: datetime,
        up_to: int | None = None,
    ) -> int:
        return await self._count(
            up_to,
            _of(account_id, strategy_id),
            orders.c.created_at >= since,
            orders.c.status.not_in(_NEVER_SENT),
        )

    async def _count(self, up_to: int | None, *conditions: ColumnElement[bool]) -> int:
        """The rows matching, counted no further than ``up_to``: the scan stops there."""
        matching = select(orders.c.order_id).where(*conditions)
        if up_to is not None:
            matching = matching.limit(up_to)
        counted = select(func.count().label("n")).select_from(matching.subquery())
        row = await self._one_or_none(counted)
        return int(row["n"]) if row is not None else 0


def _working(row: RowMapping) -> WorkingOrder:
    price = row["price"] if row["price"] is not None else row["trigger_price"]
    return WorkingOrder(
        row["exchange"], row["tradingsymbol"], row["product"],
        TransactionType(row["transaction_type"]),
        max(row["quantity"] - row["filled_quantity"], 0), price,
    )  # fmt: skip


def _scope(scope: RiskScope, scope_id: str) -> ColumnElement[bool]:
    return and_(risk_limits.c.scope == scope.value, risk_limits.c.scope_id == scope_id)


def _of(account_id: AccountId, strategy_id: StrategyId | None) -> ColumnElement[bool]:
    if strategy_id is None:
        return orders.c.account_id == account_id
    return and_(orders.c.account_id == account_id, orders.c.strategy_id == strategy_id)
