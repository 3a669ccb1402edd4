"""The encrypted columns, read as a whole: which no configured key opens, and their rotation.

Three columns hold secrets encrypted at rest: an account's API secret and access token, and a
webhook's signing secret. Rotation re-encrypts each under the current key in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Table, select, update

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.runners import StatementRunner
from order_service.adapters.db.tables import accounts, webhooks


@dataclass(frozen=True, slots=True)
class _Column:
    table: Table
    key: Column[str]
    value: Column[str | None]
    label: str  # what the secret is, for a message naming it (never its value)


_ENCRYPTED = (
    _Column(accounts, accounts.c.account_id, accounts.c.api_secret_encrypted, "API secret"),
    _Column(accounts, accounts.c.account_id, accounts.c.access_token_encrypted, "access token"),
    _Column(webhooks, webhooks.c.webhook_id, webhooks.c.secret_encrypted, "signing secret"),
)


class SqlStoredSecretRepository(SqlRepository):
    def __init__(self, runner: StatementRunner, cipher: SecretCipher) -> None:
        super().__init__(runner)
        self._cipher = cipher

    async def unreadable(self) -> list[str]:
        """Name each stored secret that none of the configured keys decrypts."""
        found: list[str] = []
        for column in _ENCRYPTED:
            for key, token in await self._tokens(column):
                if not self._cipher.readable(token):
                    found.append(_name(column, key))
        return found

    async def rotate(self) -> int:
        """Re-encrypt every stored secret under the current key; return how many.

        A secret that no key opens raises ``ConfigurationError``: check ``unreadable`` first.
        """
        rotated = 0
        for column in _ENCRYPTED:
            for key, token in await self._tokens(column):
                statement = (
                    update(column.table)
                    .where(column.key == key, column.value == token)
                    .values({column.value.name: self._cipher.rotate(token)})
                )
                await self._execute(statement)
                rotated += 1
        return rotated

    async def _tokens(self, column: _Column) -> Sequence[tuple[str, str]]:
        statement = select(column.key, column.value).where(column.value.is_not(None))
        rows = await self._all(statement.order_by(column.key))
        return [(str(row[column.key.name]), str(row[column.value.name])) for row in rows]


def _name(column: _Column, key: str) -> str:
    owner = "account" if column.table is accounts else "webhook"
    return f"{owner} {key}'s {column.label}"
