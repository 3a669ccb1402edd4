"""The shared repository base, error translation, and the account repository."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Executable, Insert, Row, RowMapping, Table, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.mapping import Values, account_from_row, account_values
from order_service.adapters.db.runners import StatementRunner
from order_service.adapters.db.tables import CLIENT_ORDER_ID_CONSTRAINT, accounts
from order_service.domain.account import Account, AccountScope, SessionState
from order_service.domain.ids import AccountId
from order_service.errors import (
    ConfigurationError,
    Conflict,
    DatabaseError,
    DuplicateClientOrderId,
    NotFound,
    StaleWrite,
    ValidationError,
)

# SQLite names the columns of a violated constraint, PostgreSQL names the constraint.
_CLIENT_ORDER_ID_MARKERS = (CLIENT_ORDER_ID_CONSTRAINT, "orders.account_id, orders.client_order_id")
# Failures of the database or the way to it, as opposed to refusals of the data.
_UNAVAILABLE = (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, TimeoutError)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn SQLAlchemy and driver errors into the service's own, where they enter."""
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise _integrity_error(exc) from exc
    except sa_exc.DataError as exc:
        raise ValidationError("a value does not fit its database column") from exc
    except _UNAVAILABLE as exc:
        raise DatabaseError(f"the database is unavailable ({type(exc).__name__})") from exc


def _integrity_error(exc: sa_exc.IntegrityError) -> Exception:
    message = str(exc.orig)
    if any(marker in message for marker in _CLIENT_ORDER_ID_MARKERS):
        return DuplicateClientOrderId(message)
    return Conflict("the change conflicts with stored data")


R = TypeVar("R")


def the_only(rows: Sequence[R]) -> R | None:
    """Return the one row of a lookup that must be unique, or None; refuse several."""
    if len(rows) > 1:
        raise Conflict("a lookup that must be unique found several rows")
    return rows[0] if rows else None


class SqlRepository:
    """Runs statements in the unit of work's transaction, translating every failure."""

    def __init__(self, runner: StatementRunner) -> None:
        self._runner = runner

    async def _execute(self, statement: Executable, rows: Sequence[Values] | None = None) -> None:
        with translated_errors():
            await self._runner.run(statement, rows)

    async def _one_or_none(self, statement: Executable) -> RowMapping | None:
        return the_only(await self._all(statement))

    async def _all(self, statement: Executable) -> Sequence[RowMapping]:
        with translated_errors():
            return await self._runner.fetch(statement)

    async def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        """The rows as tuples, to be read by position."""
        with translated_errors():
            return await self._runner.fetch_rows(statement)

    async def _expect_rows(
        self, statement: Executable, parameters: Values | None, otherwise: Exception
    ) -> None:
        """Run a write that must change a row; ``otherwise`` is raised if it changed none.

        The check may come at the next read or at commit (SQLite batches its writes), so
        callers treat it as part of committing.
        """
        with translated_errors():
            await self._runner.run_checked(statement, parameters, otherwise)

    def _insert_or_ignore(self, table: Table, values: Values) -> Insert:
        """Return an INSERT that leaves an existing row with the same key alone."""
        dialect = self._runner.dialect_name
        if dialect == "postgresql":
            return postgresql.insert(table).values(values).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(table).values(values).on_conflict_do_nothing()
        raise ConfigurationError(f"unsupported database dialect {dialect}")


class SqlAccountRepository(SqlRepository):
    """Accounts; the API secret and access token are encrypted before they reach a row."""

    def __init__(self, runner: StatementRunner, cipher: SecretCipher) -> None:
        super().__init__(runner)
        self._cipher = cipher

    async def add(self, account: Account) -> None:
        values = account_values(account, self._cipher, datetime.now(UTC))
        await self._execute(insert(accounts).values(values))

    async def save(self, account: Account) -> None:
        values = account_values(account, self._cipher, datetime.now(UTC))
        del values["account_id"], values["created_at"]
        statement = (
            update(accounts).where(accounts.c.account_id == account.account_id).values(values)
        )
        await self._expect_rows(
            statement, None, NotFound(f"account {account.account_id} not found")
        )

    async def get(self, account_id: AccountId) -> Account | None:
        row = await self._one_or_none(select(accounts).where(accounts.c.account_id == account_id))
        return account_from_row(row, self._cipher) if row is not None else None

    async def require_login(self, account_id: AccountId, access_token: str) -> None:
        row = await self._one_or_none(select(accounts).where(accounts.c.account_id == account_id))
        if row is None or row["access_token_encrypted"] is None:
            return
        if self._cipher.decrypt(row["access_token_encrypted"]) != access_token:
            return
        # The ciphertext read is the token compared: a login storing another one meanwhile
        # changes it, and this update then changes no row.
        statement = (
            update(accounts)
            .where(accounts.c.account_id == account_id)
            .where(accounts.c.access_token_encrypted == row["access_token_encrypted"])
            .values(
                access_token_encrypted=None,
                session_state=SessionState.LOGIN_REQUIRED.value,
                updated_at=datetime.now(UTC),
            )
        )
        await self._expect_rows(statement, None, StaleWrite("a login replaced the token"))

    async def require_reconciliation(self, account_id: AccountId, at: datetime) -> None:
        statement = (
            update(accounts)
            .where(accounts.c.account_id == account_id, accounts.c.reconcile_since.is_(None))
            .values(reconcile_since=at)
        )
        await self._execute(statement)

    async def mark_reconciled(self, account_id: AccountId, since: datetime) -> None:
        statement = (
            update(accounts)
            .where(accounts.c.account_id == account_id, accounts.c.reconcile_since == since)
            .values(reconcile_since=None)
        )
        await self._execute(statement)

    async def list(self, scope: AccountScope) -> list[Account]:
        """Return the accounts in ``scope``, by id."""
        statement = select(accounts).order_by(accounts.c.account_id)
        if scope.account_ids is not None:
            statement = statement.where(accounts.c.account_id.in_(sorted(scope.account_ids)))
        return [account_from_row(row, self._cipher) for row in await self._all(statement)]
