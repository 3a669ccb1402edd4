"""Exit attributions (one row per settled external order) and the fills' allocated shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    and_,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from order_service.adapters.db.bulk import among
from order_service.adapters.db.mapping import Values, order_from_row
from order_service.adapters.db.repositories import SqlRepository, the_only
from order_service.adapters.db.tables import (
    EXTERNAL_ORDER,
    exit_attributions,
    fill_allocations,
    fills,
    orders,
    unsettled,
)
from order_service.domain.attribution import (
    Allocation,
    AttributionId,
    AttributionPolicy,
    CaseStatus,
    ExitAttribution,
    Holder,
    Part,
    PartsOf,
    Placing,
    PositionKey,
)
from order_service.domain.ids import AccountId, OrderId, StrategyId, UserId
from order_service.domain.order import Order
from order_service.domain.reports import TradeId
from order_service.domain.values import TransactionType
from order_service.errors import StaleWrite
from order_service.services.ports import AllocationMark, CaseQuery, ExitsAround

_A = exit_attributions.c
# A settled external order with fills (some of them in the ledger: one with none there
# holds no place in a batch until they come) and no attribution. The partial index holds
# the external orders alone.
_UNATTRIBUTED = and_(
    EXTERNAL_ORDER,
    orders.c.filled_quantity > 0,
    ~unsettled(orders.c.status),
    select(literal_column("1")).where(fills.c.order_id == orders.c.order_id).exists(),
    ~select(literal_column("1")).where(_A.order_id == orders.c.order_id).exists(),
)


class SqlAttributionRepository(SqlRepository):
    async def unattributed_exits(self, account_id: AccountId, limit: int) -> list[Order]:
        """The account's settled external orders with fills in the ledger and no attribution,
        oldest first."""
        statement = (
            select(orders)
            .where(_UNATTRIBUTED, orders.c.account_id == account_id)
            .order_by(orders.c.created_at, orders.c.order_id)
            .limit(limit)
        )
        return [order_from_row(row) for row in await self._rows(statement)]

    async def accounts_unattributed(self) -> list[AccountId]:
        """The accounts with a settled external order not attributed yet."""
        statement = select(orders.c.account_id).where(_UNATTRIBUTED).distinct()
        return sorted(AccountId(row[0]) for row in await self._rows(statement))

    async def add(self, attribution: ExitAttribution) -> bool:
        """Store it unless its order has one already (another process was first)."""
        statement = self._insert_or_ignore(exit_attributions, attribution_values(attribution))
        rows = await self._all(statement.returning(_A.attribution_id))
        return bool(rows)

    async def get(self, attribution_id: AttributionId) -> ExitAttribution | None:
        row = await self._one_or_none(
            select(exit_attributions).where(_A.attribution_id == attribution_id)
        )
        return attribution_from_row(row) if row is not None else None

    async def cases(self, query: CaseQuery) -> list[ExitAttribution]:
        """A page of the manual attributions of ``query.account_ids``, by id."""
        if not query.account_ids:
            return []
        statement = select(exit_attributions).where(
            among(self._runner.dialect_name, _A.account_id, query.account_ids),
            _A.policy == AttributionPolicy.MANUAL.value,
        )
        if query.status is not None:
            statement = statement.where(_A.status == query.status.value)
        if query.after is not None:
            statement = statement.where(_A.attribution_id > query.after)
        statement = statement.order_by(_A.attribution_id).limit(query.limit)
        return [attribution_from_row(row) for row in await self._all(statement)]

    async def unapplied_cases(
        self, account_id: AccountId, position: PositionKey, before: AttributionId | None = None
    ) -> int:
        """How many of the account's cases of ``position`` (made before ``before``, if named:
        ids are in the order they were made) are not applied yet."""
        statement = select(func.count()).where(
            _A.account_id == account_id,
            _A.exchange == position.exchange,
            _A.tradingsymbol == position.tradingsymbol,
            _A.product == position.product,
            _A.status != CaseStatus.APPLIED.value,
        )
        if before is not None:
            statement = statement.where(_A.attribution_id < before)
        row = the_only(await self._rows(statement))
        return int(row[0]) if row is not None else 0

    async def short_of_fills(
        self,
        account_id: AccountId,
        position: PositionKey,
        window: tuple[datetime, datetime],
        other_than: OrderId,
    ) -> int:
        """How many of the account's orders of ``position`` changed since ``window[0]`` and
        created by ``window[1]`` (bar ``other_than``) have filled more than the ledger holds."""
        o = orders.c
        held = (
            select(func.coalesce(func.sum(fills.c.quantity), 0))
            .where(fills.c.order_id == o.order_id)
            .scalar_subquery()
        )
        statement = select(func.count()).where(
            o.account_id == account_id,
            o.updated_at >= window[0],
            o.created_at <= window[1],
            o.exchange == position.exchange,
            o.tradingsymbol == position.tradingsymbol,
            o.product == position.product,
            o.order_id != other_than,
            o.filled_quantity > 0,
            o.filled_quantity > held,
        )
        row = the_only(await self._rows(statement))
        return int(row[0]) if row is not None else 0

    async def exits_around(
        self,
        account_id: AccountId,
        position: PositionKey,
        placing: Placing,
        other_than: OrderId,
        since: datetime,
    ) -> ExitsAround:
        """The external orders of ``position`` changed since ``since`` (bar ``other_than``)
        around ``placing``: which began to fill before it and are not attributed, or are an
        unapplied case; which are attributed and began to fill after it."""
        executed = func.coalesce(fills.c.exchange_timestamp, fills.c.recorded_at)
        # Another order's fills against ``placing``: by time, then by broker order id (never
        # this order's own, so never equal once the times are).
        at, broker_order_id, _ = placing
        same_second = executed == at
        before = or_(executed < at, and_(same_second, fills.c.broker_order_id < broker_order_id))
        filled = fills.c.order_id == orders.c.order_id
        began_before = select(literal_column("1")).where(filled, before).exists()
        not_after = or_(before, and_(same_second, fills.c.broker_order_id == broker_order_id))
        began_after = and_(
            select(literal_column("1")).where(filled).exists(),
            ~select(literal_column("1")).where(filled, not_after).exists(),
        )
        attributed = _A.order_id == orders.c.order_id
        has_attribution = select(literal_column("1")).where(attributed).exists()
        unapplied = (
            select(literal_column("1"))
            .where(attributed, _A.status != CaseStatus.APPLIED.value)
            .exists()
        )
        of_position = and_(
            self._of_position(account_id, position, other_than), orders.c.updated_at >= since
        )
        counts = []
        for which in (
            and_(began_before, ~has_attribution),
            and_(began_before, unapplied),
            and_(began_after, has_attribution),
        ):
            row = the_only(await self._rows(select(func.count()).where(of_position, which)))
            counts.append(int(row[0]) if row is not None else 0)
        return ExitsAround(*counts)

    @staticmethod
    def _of_position(
        account_id: AccountId, position: PositionKey, other_than: OrderId
    ) -> ColumnElement[bool]:
        return and_(
            EXTERNAL_ORDER,
            orders.c.account_id == account_id,
            orders.c.exchange == position.exchange,
            orders.c.tradingsymbol == position.tradingsymbol,
            orders.c.product == position.product,
            orders.c.order_id != other_than,
        )

    async def save(self, attribution: ExitAttribution) -> None:
        values = attribution_values(attribution)
        values["version"] = attribution.version + 1
        statement = (
            update(exit_attributions)
            .where(
                _A.attribution_id == attribution.attribution_id,
                _A.version == attribution.version,
            )
            .values(**values)
        )
        await self._expect_rows(statement, None, StaleWrite(attribution.attribution_id))
        attribution.version += 1

    async def add_parts(
        self, account_id: AccountId, attribution_id: AttributionId, parts: Sequence[Part]
    ) -> None:
        rows = [
            {
                "account_id": account_id,
                "trade_id": part.trade_id,
                "attribution_id": attribution_id,
                "strategy_id": part.strategy_id,
                "quantity": part.quantity,
            }
            for part in parts
        ]
        if rows:
            await self._execute(insert(fill_allocations), rows)

    async def parts(self, account_id: AccountId) -> tuple[PartsOf, AllocationMark]:
        """The account's allocated shares by fill (in the order written), and a mark that
        changes whenever one is added (the count and the highest id)."""
        c = fill_allocations.c
        statement = (
            select(c.allocation_id, c.trade_id, c.strategy_id, c.quantity)
            .where(c.account_id == account_id)
            .order_by(c.allocation_id)
        )
        found: PartsOf = {}
        highest = 0
        rows = await self._rows(statement)
        for allocation_id, trade_id, strategy_id, quantity in (tuple(row) for row in rows):
            part = Part(TradeId(trade_id), StrategyId(strategy_id), int(quantity))
            found.setdefault((account_id, part.trade_id), []).append(part)
            highest = max(highest, allocation_id)
        return found, (len(rows), highest)


def attribution_values(attribution: ExitAttribution) -> Values:
    position = attribution.position
    return {
        "attribution_id": attribution.attribution_id,
        "account_id": attribution.account_id,
        "order_id": attribution.order_id,
        "exchange": position.exchange,
        "tradingsymbol": position.tradingsymbol,
        "product": position.product,
        "transaction_type": attribution.transaction_type.value,
        "quantity": attribution.quantity,
        "default_strategy_id": attribution.default_strategy_id,
        "holders": [_holder_json(holder) for holder in attribution.holders],
        "policy": attribution.policy.value,
        "status": attribution.status.value,
        "reason": attribution.reason,
        "allocations": [
            {"strategy_id": a.strategy_id, "quantity": a.quantity} for a in attribution.allocations
        ],
        "trade_ids": list(attribution.trade_ids),
        "assignee": attribution.assignee,
        "resolved_by": attribution.resolved_by,
        "created_at": attribution.created_at,
        "updated_at": attribution.updated_at,
        "applied_at": attribution.applied_at,
        "version": attribution.version,
    }


def attribution_from_row(row: RowMapping) -> ExitAttribution:
    return ExitAttribution(
        attribution_id=AttributionId(row["attribution_id"]),
        account_id=AccountId(row["account_id"]),
        order_id=OrderId(row["order_id"]),
        position=PositionKey(row["exchange"], row["tradingsymbol"], row["product"]),
        transaction_type=TransactionType(row["transaction_type"]),
        quantity=row["quantity"],
        default_strategy_id=StrategyId(row["default_strategy_id"]),
        holders=tuple(_holder(item) for item in row["holders"]),
        policy=AttributionPolicy(row["policy"]),
        status=CaseStatus(row["status"]),
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        allocations=tuple(
            Allocation(StrategyId(item["strategy_id"]), int(item["quantity"]))
            for item in row["allocations"]
        ),
        trade_ids=tuple(TradeId(t) for t in row["trade_ids"] or ()),
        assignee=UserId(row["assignee"]) if row["assignee"] else None,
        resolved_by=UserId(row["resolved_by"]) if row["resolved_by"] else None,
        applied_at=row["applied_at"],
        version=row["version"],
    )


def _holder_json(holder: Holder) -> dict[str, Any]:
    return {
        "strategy_id": holder.strategy_id,
        "quantity": holder.quantity,
        "opened_at": holder.opened_at.isoformat(),
    }


def _holder(item: dict[str, Any]) -> Holder:
    opened = datetime.fromisoformat(item["opened_at"])
    return Holder(StrategyId(item["strategy_id"]), int(item["quantity"]), opened)
