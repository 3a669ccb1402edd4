"""The exit attributions' fake: one attribution per order, allocations unique per fill and
strategy, a version check on save, as the tables' keys would refuse."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

from order_service.domain.attribution import (
    AttributionId,
    AttributionPolicy,
    CaseStatus,
    ExitAttribution,
    Part,
    PartsOf,
    Placing,
    PositionKey,
)
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order, OrderSource
from order_service.errors import Conflict, StaleWrite
from order_service.services.ports import AllocationMark, CaseQuery, ExitsAround
from tests.unit.fake_store import FakeRepository, FakeStore


class FakeAttributionRepository(FakeRepository):
    async def unattributed_exits(self, account_id: AccountId, limit: int) -> list[Order]:
        found = [o for o in self._pending() if o.account_id == account_id]
        return found[:limit]

    async def accounts_unattributed(self) -> list[AccountId]:
        return sorted({o.account_id for o in self._pending()})

    def _pending(self) -> list[Order]:
        view = self._view()
        taken = {a.order_id for a in view.attributions.values()}
        ledger = {fill.order_id for fill in view.fills}
        found = [
            copy.deepcopy(o)
            for o in view.orders.values()
            if o.source is OrderSource.EXTERNAL
            and o.filled_quantity > 0
            and o.status.is_terminal
            and o.order_id in ledger
            and o.order_id not in taken
        ]
        return sorted(found, key=lambda o: (o.created_at, o.order_id))

    async def add(self, attribution: ExitAttribution) -> bool:
        if any(a.order_id == attribution.order_id for a in self._view().attributions.values()):
            return False
        row = copy.deepcopy(attribution)
        row.events = []

        def adding(state: FakeStore) -> None:
            if any(a.order_id == row.order_id for a in state.attributions.values()):
                raise Conflict("the change conflicts with stored data")
            state.attributions[row.attribution_id] = row

        self._stage(adding)
        return True

    async def get(self, attribution_id: AttributionId) -> ExitAttribution | None:
        found = self._view().attributions.get(attribution_id)
        return copy.deepcopy(found) if found is not None else None

    async def cases(self, query: CaseQuery) -> list[ExitAttribution]:
        found = [
            copy.deepcopy(a)
            for a in self._view().attributions.values()
            if a.account_id in query.account_ids
            and a.policy is AttributionPolicy.MANUAL
            and (query.status is None or a.status is query.status)
            and (query.after is None or a.attribution_id > query.after)
        ]
        return sorted(found, key=lambda a: a.attribution_id)[: query.limit]

    async def unapplied_cases(
        self, account_id: AccountId, position: PositionKey, before: AttributionId | None = None
    ) -> int:
        return sum(
            1
            for a in self._view().attributions.values()
            if a.account_id == account_id
            and a.position == position
            and a.status is not CaseStatus.APPLIED
            and (before is None or a.attribution_id < before)
        )

    async def short_of_fills(
        self,
        account_id: AccountId,
        position: PositionKey,
        window: tuple[datetime, datetime],
        other_than: OrderId,
    ) -> int:
        view = self._view()
        held: dict[OrderId, int] = {}
        for fill in view.fills:
            held[fill.order_id] = held.get(fill.order_id, 0) + fill.report.quantity
        return sum(
            1
            for o in view.orders.values()
            if o.account_id == account_id
            and o.updated_at >= window[0]
            and o.created_at <= window[1]
            and _position(o) == position
            and o.order_id != other_than
            and o.filled_quantity > held.get(o.order_id, 0)
        )

    async def exits_around(
        self,
        account_id: AccountId,
        position: PositionKey,
        placing: Placing,
        other_than: OrderId,
        since: datetime,
    ) -> ExitsAround:
        view = self._view()
        status = {a.order_id: a.status for a in view.attributions.values()}
        first: dict[OrderId, Placing] = {}
        for fill in view.fills:
            report = fill.report
            at = (report.exchange_timestamp or fill.recorded_at, report.broker_order_id, 0)
            first[fill.order_id] = min(first.get(fill.order_id, at), at)
        exits = [
            o.order_id
            for o in view.orders.values()
            if o.source is OrderSource.EXTERNAL
            and o.account_id == account_id
            and _position(o) == position
            and o.order_id != other_than
            and o.updated_at >= since
            and o.order_id in first
        ]
        before = [o for o in exits if first[o] < placing]
        return ExitsAround(
            unattributed_before=sum(1 for o in before if o not in status),
            unapplied_before=sum(
                1 for o in before if o in status and status[o] is not CaseStatus.APPLIED
            ),
            attributed_after=sum(1 for o in exits if first[o] > placing and o in status),
        )

    async def save(self, attribution: ExitAttribution) -> None:
        row, expected = copy.deepcopy(attribution), attribution.version
        row.version += 1
        row.events = []

        def saving(state: FakeStore) -> None:
            stored = state.attributions.get(row.attribution_id)
            if stored is None or stored.version != expected:
                raise StaleWrite(row.attribution_id)
            state.attributions[row.attribution_id] = row

        self._stage(saving)
        attribution.version += 1

    async def add_parts(
        self, account_id: AccountId, attribution_id: AttributionId, parts: Sequence[Part]
    ) -> None:
        rows = [(account_id, part) for part in parts]

        def adding(state: FakeStore) -> None:
            keys = {(a, p.trade_id, p.strategy_id) for a, p in state.allocations}
            for account, part in rows:
                if (account, part.trade_id, part.strategy_id) in keys:
                    raise Conflict("the change conflicts with stored data")
            state.allocations = [*state.allocations, *rows]

        self._stage(adding)

    async def parts(self, account_id: AccountId) -> tuple[PartsOf, AllocationMark]:
        found: PartsOf = {}
        mine = [part for account, part in self._view().allocations if account == account_id]
        for part in mine:
            found.setdefault((account_id, part.trade_id), []).append(part)
        return found, (len(mine), len(mine))


def _position(order: Order) -> PositionKey:
    request = order.request
    return PositionKey(request.exchange.value, request.tradingsymbol, request.product.value)
