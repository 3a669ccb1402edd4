"""The kill switch's fake repository: one halt per scope, an audit event per change."""

from __future__ import annotations

from datetime import datetime

from order_service.domain.halt import Halt, HaltScope
from order_service.domain.ids import UserId
from tests.unit.fake_store import FakeRepository, FakeStore


class FakeKillSwitchRepository(FakeRepository):
    async def engage(self, halt: Halt, *, flatten: bool) -> Halt:
        held = self._view().halts.get(halt.scope)

        def engaging(state: FakeStore) -> None:
            state.halts.setdefault(halt.scope, halt)
            state.halt_events.append((halt.scope, "engaged", halt.engaged_by))

        self._stage(engaging)
        return held or halt

    async def release(self, scope: HaltScope, by: UserId, at: datetime) -> None:
        def releasing(state: FakeStore) -> None:
            state.halts.pop(scope, None)
            state.halt_events.append((scope, "released", by))

        self._stage(releasing)

    async def get(self, scope: HaltScope) -> Halt | None:
        return self._view().halts.get(scope)

    async def in_force(self) -> list[Halt]:
        return list(self._view().halts.values())
