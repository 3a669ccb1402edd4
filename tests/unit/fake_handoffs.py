"""The handoffs' fake: the unique index on unfinished handoffs, checked at the commit as the
scope lock and the index together would refuse an overlapping one."""

from __future__ import annotations

import copy

from order_service.domain.handoff import Handoff, HandoffId
from order_service.domain.ids import AccountId, StrategyId
from order_service.errors import Conflict, StaleWrite
from tests.unit.fake_store import FakeRepository, FakeStore


class FakeHandoffRepository(FakeRepository):
    async def lock_scope(self, account_id: AccountId, strategy_id: StrategyId | None) -> None:
        return None  # the commit's all-or-nothing check below stands for the lock

    async def add(self, handoff: Handoff) -> None:
        row = copy.deepcopy(handoff)

        def adding(state: FakeStore) -> None:
            for other in state.handoffs.values():
                same = other.account_id == row.account_id
                if same and not other.is_finished and other.overlaps(row.strategy_id):
                    raise Conflict("the change conflicts with stored data")
            state.handoffs[row.handoff_id] = row

        self._stage(adding)

    async def get(self, handoff_id: HandoffId) -> Handoff | None:
        found = self._view().handoffs.get(handoff_id)
        return copy.deepcopy(found) if found is not None else None

    async def unfinished(self, account_id: AccountId) -> list[Handoff]:
        rows = [h for h in self._view().handoffs.values() if h.account_id == account_id]
        open_ = [copy.deepcopy(h) for h in rows if not h.is_finished]
        return sorted(open_, key=lambda h: (h.created_at, h.handoff_id))

    async def accounts_unfinished(self) -> list[AccountId]:
        return sorted({h.account_id for h in self._view().handoffs.values() if not h.is_finished})

    async def save(self, handoff: Handoff) -> None:
        row, expected = copy.deepcopy(handoff), handoff.version
        row.version += 1

        def saving(state: FakeStore) -> None:
            stored = state.handoffs.get(row.handoff_id)
            if stored is None or stored.version != expected:
                raise StaleWrite(row.handoff_id)
            state.handoffs[row.handoff_id] = row

        self._stage(saving)
        handoff.version += 1
