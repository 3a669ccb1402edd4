"""The fake signal tokens: rows by id, each with the hash of its secret."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from order_service.domain.ids import SignalTokenId, StrategyId
from order_service.domain.signal import SignalToken
from order_service.errors import Conflict
from tests.unit.fake_store import CONFLICT, FakeRepository, FakeStore


class FakeSignalTokenRepository(FakeRepository):
    async def add(self, token: SignalToken, token_hash: str) -> None:
        def adding(state: FakeStore) -> None:
            held = {h for _, h in state.signal_tokens.values()}
            if token.token_id in state.signal_tokens or token_hash in held:
                raise Conflict(CONFLICT)  # the primary key and the unique hash
            if token.strategy_id not in state.strategies:
                raise Conflict(CONFLICT)
            state.signal_tokens[token.token_id] = (token, token_hash)

        self._stage(adding)

    async def by_hash(self, token_hash: str) -> SignalToken | None:
        found = [t for t, h in self._view().signal_tokens.values() if h == token_hash]
        return next((t for t in found if not t.is_revoked), None)

    async def list(self, strategy_id: StrategyId) -> list[SignalToken]:
        mine = [t for t, _ in self._view().signal_tokens.values() if t.strategy_id == strategy_id]
        return sorted(mine, key=lambda t: (t.created_at, t.token_id))

    async def revoke(self, strategy_id: StrategyId, token_id: SignalTokenId, at: datetime) -> bool:
        held = self._view().signal_tokens.get(token_id)
        if held is None or held[0].strategy_id != strategy_id or held[0].is_revoked:
            return False

        def revoking(state: FakeStore) -> None:
            token, token_hash = state.signal_tokens[token_id]
            state.signal_tokens[token_id] = (replace(token, revoked_at=at), token_hash)

        self._stage(revoking)
        return True
