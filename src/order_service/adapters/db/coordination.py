"""What the database's coordination stores share: their own small pool and the server's clock.

Leases and heartbeats expire by the database server's clock, never a process's, so processes
on machines whose clocks disagree still agree on what has expired. They get a pool of their
own, so a busy order path can never hold up a heartbeat until its process looks dead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, Table, func, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from order_service.adapters.db.engine import CONNECT_TIMEOUT_SECONDS, create_engine, parse_url
from order_service.adapters.db.repositories import translated_errors
from order_service.errors import ConfigurationError

COORDINATION_POOL_SIZE = 2
# SQLite's text form of an instant, as SQLAlchemy stores it (microseconds, six digits).
_SQLITE_INSTANT = "%Y-%m-%d %H:%M:%f"


def coordination_engine(url: str) -> AsyncEngine:
    """Return an engine for leases and heartbeats: a small pool on PostgreSQL."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return create_engine(url)
    return create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=COORDINATION_POOL_SIZE,
        max_overflow=COORDINATION_POOL_SIZE,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )


class ServerClock:
    """SQL for "now" and "``seconds`` from now" by the database server's clock."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("postgresql", "sqlite"):
            raise ConfigurationError(f"unsupported database dialect {dialect}")
        self.dialect = dialect

    def now(self) -> ColumnElement[datetime]:
        return self.later(0)

    def later(self, seconds: float) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            # statement_timestamp(): this statement's start, not the transaction's.
            interval = func.make_interval(0, 0, 0, 0, 0, 0, literal(float(seconds)))
            return func.statement_timestamp() + interval
        # strftime gives milliseconds; three more digits make the text SQLAlchemy writes.
        shift = f"{seconds:+.3f} seconds"
        return func.strftime(_SQLITE_INSTANT, "now", shift).op("||")(literal("000", String))

    def upsert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """Return the dialect's INSERT, which has ``on_conflict_do_update``."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction on ``engine``, committed on success; failures as our own errors."""
    with translated_errors():
        async with engine.begin() as connection:
            yield connection
