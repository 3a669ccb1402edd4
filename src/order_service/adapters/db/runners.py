"""How a unit of work's statements reach the database.

``SessionRunner`` drives SQLAlchemy's ``AsyncSession`` (asyncpg for PostgreSQL), one await per
statement. For a SQLite file, ``ThreadedSqliteRunner`` gives the work to the one thread that
owns the SQLite connection, and holds writes back until the next read or the commit, so a
unit of work that writes an order and its events and commits crosses threads once: aiosqlite
would cross three or four times per statement (cursor, execute, fetch, close), which
dominated the order path. SQLite has one writer at a time anyway, so the gate also serializes
units of work, in the event loop rather than in SQLite's sleeping busy handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Connection, Engine, Executable, Row, RowMapping, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
Rows = Sequence[dict[str, Any]] | None


class StatementRunner(Protocol):
    """What the repositories need from a transaction."""

    @property
    def dialect_name(self) -> str: ...

    async def run(self, statement: Executable, rows: Rows = None) -> None: ...

    async def run_sql(self, sql: str, rows: Sequence[tuple[Any, ...]] | None = None) -> None:
        """Run the driver's own SQL: once, or once per row with the driver's ``executemany``."""
        ...

    async def fetch(self, statement: Executable) -> Sequence[RowMapping]: ...

    async def fetch_rows(self, statement: Executable) -> Sequence[Row[Any]]:
        """The rows as tuples, in the statement's column order: cheaper than ``fetch``'s
        mappings where thousands are read by position."""
        ...

    async def run_checked(
        self, statement: Executable, parameters: dict[str, Any] | None, otherwise: Exception
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class SessionRunner:
    """Statements through an ``AsyncSession`` (its transaction begins with the first one)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def dialect_name(self) -> str:
        return self._session.get_bind().dialect.name

    async def run(self, statement: Executable, rows: Rows = None) -> None:
        await self._session.execute(statement, rows)

    async def run_sql(self, sql: str, rows: Sequence[tuple[Any, ...]] | None = None) -> None:
        connection = await self._session.connection()
        await connection.exec_driver_sql(sql, list(rows) if rows else None)

    async def fetch(self, statement: Executable) -> Sequence[RowMapping]:
        return (await self._session.execute(statement)).mappings().all()

    async def fetch_rows(self, statement: Executable) -> Sequence[Row[Any]]:
        return (await self._session.execute(statement)).all()

    async def run_checked(
        self, statement: Executable, parameters: dict[str, Any] | None, otherwise: Exception
    ) -> None:
        result = await self._session.execute(statement, parameters)
        if cast("CursorResult[Any]", result).rowcount == 0:
            raise otherwise

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

    async def close(self) -> None:
        await self._session.close()


class SqliteGate:
    """The one thread, connection pool and lock of a SQLite database file."""

    def __init__(self, url: URL, on_connect: Callable[[Any, Any], None], **engine: Any) -> None:
        self.engine: Engine = create_sync_engine(url.set(drivername="sqlite"), **engine)
        event.listen(self.engine, "connect", on_connect)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self.lock = asyncio.Lock()

    async def call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn)

    def dispose(self) -> None:
        self.thread.submit(self.engine.dispose).result()
        self.thread.shutdown(wait=True)


class ThreadedSqliteRunner:
    """A unit of work's transaction on the gate's thread; holds the gate until it ends."""

    def __init__(self, gate: SqliteGate) -> None:
        self._gate = gate
        self._connection: Connection | None = None
        self._pending: list[_Write] = []

    @property
    def dialect_name(self) -> str:
        return "sqlite"

    async def run(self, statement: Executable, rows: Rows = None) -> None:
        self._pending.append(_Write(statement, rows, None))

    async def run_sql(self, sql: str, rows: Sequence[tuple[Any, ...]] | None = None) -> None:
        self._pending.append(_Write(sql, rows, None))

    async def run_checked(
        self, statement: Executable, parameters: dict[str, Any] | None, otherwise: Exception
    ) -> None:
        self._pending.append(_Write(statement, parameters, otherwise))

    async def fetch(self, statement: Executable) -> Sequence[RowMapping]:
        writes = self._take_pending()
        return await self._on_thread(
            lambda c: _flushed(c, writes).execute(statement).mappings().all(), ending=False
        )

    async def fetch_rows(self, statement: Executable) -> Sequence[Row[Any]]:
        writes = self._take_pending()
        return await self._on_thread(
            lambda c: _flushed(c, writes).execute(statement).all(), ending=False
        )

    async def commit(self) -> None:
        writes = self._take_pending()
        if writes or self._connection is not None:
            await self._on_thread(lambda c: _flushed(c, writes).commit(), ending=True)

    async def rollback(self) -> None:
        self._pending.clear()
        if self._connection is not None:
            await self._on_thread(lambda c: c.rollback(), ending=True)

    async def close(self) -> None:
        await self.rollback()

    def _take_pending(self) -> list[_Write]:
        writes, self._pending = self._pending, []
        return writes

    async def _on_thread(self, work: Callable[[Connection], T], *, ending: bool) -> T:
        """Run ``work`` in one hop: connecting first if needed, closing after if ``ending``."""
        if self._connection is None:
            await self._gate.lock.acquire()
        held = [self._connection] if self._connection is not None else []
        try:
            result = await self._gate.call(lambda: _step(self._gate.engine, held, work, ending))
        except BaseException:
            # Also on cancellation, when the thread may still be working: the single thread
            # runs this cleanup after that work, so the transaction never outlives the gate.
            with contextlib.suppress(RuntimeError):  # the thread is gone when shutting down
                self._gate.thread.submit(_discard, held)
            self._connection = None
            self._gate.lock.release()
            raise
        self._connection = None if ending else held[0]
        if ending:
            self._gate.lock.release()
        return result


def _step(
    engine: Engine, held: list[Connection], work: Callable[[Connection], T], ending: bool
) -> T:
    """On the gate's thread: connect if needed, work, and close when the transaction ends."""
    if not held:
        held.append(engine.connect())
    result = work(held[0])
    if ending:
        held[0].close()
    return result


def _discard(held: list[Connection]) -> None:
    """Close (and so roll back) whatever connection a failed or cancelled step left open."""
    for connection in held:
        connection.close()


class _Write:
    """A statement held back until the transaction's next read or its commit."""

    __slots__ = ("otherwise", "parameters", "statement")

    def __init__(
        self, statement: Executable | str, parameters: Any, otherwise: Exception | None
    ) -> None:
        self.statement, self.parameters, self.otherwise = statement, parameters, otherwise


def _flushed(connection: Connection, writes: list[_Write]) -> Connection:
    for write in writes:
        if isinstance(write.statement, str):
            # The driver's own SQL: rows go to sqlite3's executemany as they are.
            connection.exec_driver_sql(write.statement, write.parameters or ())
            continue
        result = connection.execute(write.statement, write.parameters)
        if write.otherwise is not None and result.rowcount == 0:
            raise write.otherwise
    return connection
