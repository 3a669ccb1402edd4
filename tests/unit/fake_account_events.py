"""The fake account event log: appended in sequence, each event naming a stored account."""

from __future__ import annotations

from dataclasses import replace

from order_service.domain.account_events import AccountEvent
from order_service.domain.ids import AccountId
from order_service.errors import Conflict
from tests.unit.fake_store import CONFLICT, Change, FakeRepository, FakeStore


class FakeAccountEventRepository(FakeRepository):
    async def add(self, event: AccountEvent) -> None:
        self._stage(_appending(event))

    async def recent(self, account_id: AccountId, name: str, limit: int) -> list[AccountEvent]:
        mine = [
            e for e in self._view().account_events if (e.account_id, e.name) == (account_id, name)
        ]
        return [replace(e, data=dict(e.data)) for e in mine[::-1][:limit]]


def _appending(event: AccountEvent) -> Change:
    def append(state: FakeStore) -> None:
        if event.account_id not in state.accounts:
            raise Conflict(CONFLICT)  # the foreign key the SQL table holds
        stored = replace(event, data=dict(event.data), sequence=state.next_account_event_sequence)
        state.account_events.append(stored)
        state.next_account_event_sequence += 1

    return append
