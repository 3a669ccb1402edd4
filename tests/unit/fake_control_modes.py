"""The control modes' fake: the only writer of the modes on the fake store's rows."""

from __future__ import annotations

from dataclasses import replace

from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, StrategyId
from order_service.errors import NotFound
from tests.unit.fake_store import FakeRepository, FakeStore


class FakeControlModeRepository(FakeRepository):
    async def fence_scope(self, account_id: AccountId, token: int) -> bool:
        if self._view().scope_fences.get(account_id, 0) >= token:
            return False

        def raise_fence(state: FakeStore) -> None:
            state.scope_fences = {**state.scope_fences, account_id: token}

        self._stage(raise_fence)
        return True

    async def set_account_mode(self, account_id: AccountId, mode: ControlMode) -> None:
        def update(state: FakeStore) -> None:
            if account_id not in state.accounts:
                raise NotFound(f"account {account_id} not found")
            state.accounts[account_id].control_mode = mode

        self._stage(update)

    async def set_strategy_modes(self, account_id: AccountId, mode: ControlMode) -> None:
        def update(state: FakeStore) -> None:
            for strategy_id, strategy in list(state.strategies.items()):
                if strategy.account_id == account_id and not strategy.is_default:
                    state.strategies[strategy_id] = replace(strategy, control_mode=mode)

        self._stage(update)

    async def set_strategy_mode(self, strategy_id: StrategyId, mode: ControlMode) -> None:
        def update(state: FakeStore) -> None:
            if strategy_id not in state.strategies:
                raise NotFound(f"strategy {strategy_id} not found")
            state.strategies[strategy_id] = replace(
                state.strategies[strategy_id], control_mode=mode
            )

        self._stage(update)
