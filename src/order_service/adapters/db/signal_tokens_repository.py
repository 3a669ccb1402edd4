"""Signal tokens: stored by the hash of their secret, found by it, listed and revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, insert, select, update

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import signal_tokens
from order_service.domain.ids import AccountId, SignalTokenId, StrategyId, UserId
from order_service.domain.signal import OrderTemplate, SignalToken


class SqlSignalTokenRepository(SqlRepository):
    """The secret never reaches the database: an alert's token is looked up by its hash."""

    async def add(self, token: SignalToken, token_hash: str) -> None:
        values = {
            "token_id": token.token_id,
            "token_hash": token_hash,
            "strategy_id": token.strategy_id,
            "account_id": token.account_id,
            "user_id": token.user_id,
            "template": token.template.as_dict(),
            "created_at": token.created_at,
        }
        await self._execute(insert(signal_tokens).values(values))

    async def by_hash(self, token_hash: str) -> SignalToken | None:
        statement = select(signal_tokens).where(
            signal_tokens.c.token_hash == token_hash, signal_tokens.c.revoked_at.is_(None)
        )
        row = await self._one_or_none(statement)
        return None if row is None else _token_from_row(row)

    async def list(self, strategy_id: StrategyId) -> list[SignalToken]:
        statement = (
            select(signal_tokens)
            .where(signal_tokens.c.strategy_id == strategy_id)
            .order_by(signal_tokens.c.created_at, signal_tokens.c.token_id)
        )
        return [_token_from_row(row) for row in await self._all(statement)]

    async def revoke(self, strategy_id: StrategyId, token_id: SignalTokenId, at: datetime) -> bool:
        live = (
            signal_tokens.c.token_id == token_id,
            signal_tokens.c.strategy_id == strategy_id,
            signal_tokens.c.revoked_at.is_(None),
        )
        if await self._one_or_none(select(signal_tokens.c.token_id).where(*live)) is None:
            return False
        await self._execute(update(signal_tokens).where(*live).values(revoked_at=at))
        return True


def _token_from_row(row: RowMapping) -> SignalToken:
    return SignalToken(
        token_id=SignalTokenId(row["token_id"]),
        strategy_id=StrategyId(row["strategy_id"]),
        account_id=AccountId(row["account_id"]),
        user_id=UserId(row["user_id"]),
        template=OrderTemplate.from_dict(dict(row["template"])),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
