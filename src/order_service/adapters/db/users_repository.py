"""Users, their hashed API keys, and the accounts they may act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, delete, insert, select, update

from order_service.adapters.db.mapping import principal_from_row, roles_text, user_info_from_row
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import api_keys, user_accounts, users
from order_service.domain.account import ApiKeyInfo, Principal, UserInfo
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId


class SqlUserRepository(SqlRepository):
    """Resolves users to Principals in one query: the user row joined with its grants."""

    async def add(self, principal: Principal, created_at: datetime) -> None:
        values = {
            "user_id": principal.user_id,
            "name": principal.name,
            "roles": roles_text(principal.roles),
            "created_at": created_at,
        }
        await self._execute(insert(users).values(values))
        for account_id in sorted(principal.account_ids):
            await self.grant(principal.user_id, account_id)

    async def get(self, user_id: UserId) -> Principal | None:
        return await self._principal(users.c.user_id == user_id)

    async def list_users(self) -> list[UserInfo]:
        statement = select(users).order_by(users.c.created_at, users.c.user_id)
        return [user_info_from_row(row) for row in await self._all(statement)]

    async def add_api_key(
        self,
        user_id: UserId,
        key_id: ApiKeyId,
        key_hash: str,
        created_at: datetime,
        strategy_id: StrategyId | None = None,
    ) -> None:
        values = {
            "id": key_id,
            "user_id": user_id,
            "key_hash": key_hash,
            "created_at": created_at,
            "strategy_id": strategy_id,
        }
        await self._execute(insert(api_keys).values(values))

    async def by_api_key_hash(self, key_hash: str) -> Principal | None:
        """Return the key's owner, bound to the key's strategy; a revoked key is nobody's."""
        statement = select(api_keys.c.user_id, api_keys.c.strategy_id).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
        key = await self._one_or_none(statement)
        if key is None:
            return None
        principal = await self._principal(users.c.user_id == key["user_id"])
        strategy_id = key["strategy_id"]
        if principal is None or strategy_id is None:
            return principal
        return replace(principal, strategy_id=StrategyId(strategy_id))

    async def grant(self, user_id: UserId, account_id: AccountId) -> None:
        """Let the user act on the account; granting twice is harmless."""
        values = {"user_id": user_id, "account_id": account_id}
        await self._execute(self._insert_or_ignore(user_accounts, values))

    async def revoke_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        if not await self.has_grant(user_id, account_id):
            return False
        statement = delete(user_accounts).where(
            user_accounts.c.user_id == user_id, user_accounts.c.account_id == account_id
        )
        await self._execute(statement)
        return True

    async def revoke_other_grants(self, account_id: AccountId, keep: UserId) -> None:
        statement = delete(user_accounts).where(
            user_accounts.c.account_id == account_id, user_accounts.c.user_id != keep
        )
        await self._execute(statement)

    async def has_grant(self, user_id: UserId, account_id: AccountId) -> bool:
        statement = select(user_accounts.c.user_id).where(
            user_accounts.c.user_id == user_id, user_accounts.c.account_id == account_id
        )
        return await self._one_or_none(statement) is not None

    async def api_keys(self, user_id: UserId) -> list[ApiKeyInfo]:
        statement = (
            select(
                api_keys.c.id, api_keys.c.created_at, api_keys.c.revoked_at, api_keys.c.strategy_id
            )
            .where(api_keys.c.user_id == user_id)
            .order_by(api_keys.c.id)
        )
        return [
            ApiKeyInfo(
                ApiKeyId(row["id"]),
                user_id,
                row["created_at"],
                row["revoked_at"],
                row["strategy_id"],
            )
            for row in await self._all(statement)
        ]

    async def revoke_api_key(self, user_id: UserId, key_id: ApiKeyId, at: datetime) -> bool:
        live = (api_keys.c.id == key_id, api_keys.c.user_id == user_id)
        found = select(api_keys.c.id).where(*live, api_keys.c.revoked_at.is_(None))
        if await self._one_or_none(found) is None:
            return False
        await self._execute(update(api_keys).where(*live).values(revoked_at=at))
        return True

    async def _principal(self, condition: ColumnElement[bool]) -> Principal | None:
        statement = (
            select(users, user_accounts.c.account_id)
            .outerjoin(user_accounts, user_accounts.c.user_id == users.c.user_id)
            .where(condition)
        )
        rows = await self._all(statement)
        return principal_from_row(rows[0], _granted(rows)) if rows else None


def _granted(rows: Sequence[RowMapping]) -> frozenset[AccountId]:
    return frozenset(AccountId(row["account_id"]) for row in rows if row["account_id"] is not None)
