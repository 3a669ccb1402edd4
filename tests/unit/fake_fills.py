"""The fake fill ledger: each (account, trade id) stored once, numbered in sequence, as SQL does."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.reports import TradeId
from order_service.errors import Conflict
from order_service.services.ports import FillPage
from tests.unit.fake_store import CONFLICT, Change, FakeRepository, FakeStore


class FakeFillRepository(FakeRepository):
    async def add_new(self, fills: list[Fill]) -> list[Fill]:
        seen = {(fill.account_id, fill.trade_id) for fill in self._view().fills}
        added: list[Fill] = []
        for fill in fills:
            if (fill.account_id, fill.trade_id) not in seen:
                seen.add((fill.account_id, fill.trade_id))
                added.append(fill)
        for fill in added:
            self._stage(_inserting(fill))
        return added

    async def known_trade_ids(
        self, account_id: AccountId, trade_ids: Collection[TradeId]
    ) -> set[TradeId]:
        wanted = set(trade_ids)
        return {
            f.trade_id
            for f in self._view().fills
            if f.account_id == account_id and f.trade_id in wanted
        }

    async def for_order(self, order_id: OrderId) -> list[Fill]:
        return [fill for fill in self._view().fills if fill.order_id == order_id]

    async def for_orders(self, order_ids: Collection[OrderId]) -> list[Fill]:
        wanted = set(order_ids)
        return [fill for fill in self._view().fills if fill.order_id in wanted]

    async def after(self, account_id: AccountId, sequence: int | None) -> list[Fill]:
        return [
            f
            for f in self._view().fills
            if f.account_id == account_id and (sequence is None or (f.sequence or 0) > sequence)
        ]

    async def page(self, wanted: FillPage) -> list[Fill]:
        found = [
            f
            for f in self._view().fills
            if f.account_id in wanted.account_ids
            and wanted.start <= _at(f) < wanted.end
            and (wanted.after is None or (f.sequence or 0) > wanted.after)
        ]
        return found[: wanted.limit]

    async def accounts_short(
        self, account_ids: Collection[AccountId], since: datetime
    ) -> list[AccountId]:
        view = self._view()
        held: dict[OrderId, int] = {}
        for fill in view.fills:
            held[fill.order_id] = held.get(fill.order_id, 0) + fill.report.quantity
        short = {
            o.account_id
            for o in view.orders.values()
            if o.account_id in account_ids
            and o.created_at >= since
            and o.filled_quantity > held.get(o.order_id, 0)
        }
        return sorted(short)

    async def for_account(
        self, account_id: AccountId, after: int | None = None, limit: int = 100
    ) -> list[Fill]:
        mine = [
            fill
            for fill in self._view().fills
            if fill.account_id == account_id and (after is None or (fill.sequence or 0) > after)
        ]
        return mine[:limit]


def _at(fill: Fill) -> datetime:
    return fill.report.exchange_timestamp or fill.recorded_at


def _inserting(fill: Fill) -> Change:
    def insert(state: FakeStore) -> None:
        if any((f.account_id, f.trade_id) == (fill.account_id, fill.trade_id) for f in state.fills):
            return  # another writer stored it first: ignored, as the SQL insert ignores it
        order = state.orders.get(fill.order_id)
        if fill.account_id not in state.accounts or order is None:
            raise Conflict(CONFLICT)
        if fill.strategy_id not in state.strategies:
            raise Conflict(CONFLICT)
        state.fills.append(replace(fill, sequence=state.next_fill_sequence))
        state.next_fill_sequence += 1

    return insert
