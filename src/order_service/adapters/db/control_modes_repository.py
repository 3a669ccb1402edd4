"""Control modes: written here alone, read with the account and strategy rows they belong to."""

from __future__ import annotations

from sqlalchemy import false, update
from sqlalchemy.dialects import postgresql, sqlite

from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import accounts, scope_fences, strategies
from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, StrategyId
from order_service.errors import NotFound


class SqlControlModeRepository(SqlRepository):
    async def fence_scope(self, account_id: AccountId, token: int) -> bool:
        """Upsert the account's fence, only ever upwards, in the caller's transaction (the row
        stays locked until it ends on PostgreSQL; SQLite's writer holds the whole database)."""
        dialect = postgresql if self._runner.dialect_name == "postgresql" else sqlite
        fences = scope_fences.c
        statement = (
            dialect.insert(scope_fences)
            .values(account_id=account_id, token=token)
            .on_conflict_do_update(
                index_elements=[fences.account_id],
                set_={"token": token},
                where=fences.token < token,
            )
            .returning(fences.account_id)
        )
        return bool(await self._all(statement))

    async def set_account_mode(self, account_id: AccountId, mode: ControlMode) -> None:
        # On PostgreSQL the UPDATE holds the account row's lock until the commit.
        statement = (
            update(accounts)
            .where(accounts.c.account_id == account_id)
            .values(control_mode=mode.value)
        )
        await self._expect_rows(statement, None, NotFound(f"account {account_id} not found"))

    async def set_strategy_modes(self, account_id: AccountId, mode: ControlMode) -> None:
        statement = (
            update(strategies)
            .where(strategies.c.account_id == account_id, strategies.c.is_default == false())
            .values(control_mode=mode.value)
        )
        await self._execute(statement)

    async def set_strategy_mode(self, strategy_id: StrategyId, mode: ControlMode) -> None:
        statement = (
            update(strategies)
            .where(strategies.c.strategy_id == strategy_id)
            .values(control_mode=mode.value)
        )
        await self._expect_rows(statement, None, NotFound(f"strategy {strategy_id} not found"))
