"""Pending broker logins: one-time states, spent by deleting them."""

from __future__ import annotations

from sqlalchemy import delete, insert, or_, select

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import login_states
from order_service.domain.ids import AccountId, UserId
from order_service.domain.login import LoginState


class SqlLoginStateRepository(SqlRepository):
    """Each user holds at most one pending login per account, so the table stays small."""

    async def add(self, state: LoginState) -> None:
        superseded = delete(login_states).where(
            or_(
                (login_states.c.account_id == state.account_id)
                & (login_states.c.user_id == state.user_id),
                login_states.c.expires_at <= state.created_at,
            )
        )
        await self._execute(superseded)
        values = {
            "state_hash": state.state_hash,
            "account_id": state.account_id,
            "user_id": state.user_id,
            "created_at": state.created_at,
            "expires_at": state.expires_at,
        }
        await self._execute(insert(login_states).values(values))

    async def get(self, state_hash: str) -> LoginState | None:
        statement = select(login_states).where(login_states.c.state_hash == state_hash)
        row = await self._one_or_none(statement)
        if row is None:
            return None
        return LoginState(
            state_hash=row["state_hash"],
            account_id=AccountId(row["account_id"]),
            user_id=UserId(row["user_id"]),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
        )

    async def spend(self, state: LoginState, refusal: Exception) -> None:
        # Two callbacks racing with one state: the second delete finds no row and is refused.
        statement = delete(login_states).where(login_states.c.state_hash == state.state_hash)
        await self._expect_rows(statement, None, refusal)
