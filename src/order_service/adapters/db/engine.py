"""Engine construction: SQLite tuned for one busy process, PostgreSQL with a checked pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from order_service.adapters.db.runners import SqliteGate
from order_service.errors import ConfigurationError, DatabaseError

# Applied to every new SQLite connection: WAL lets readers run beside the writer,
# NORMAL is durable in WAL mode at a fraction of FULL's fsyncs, and SQLite ships
# with foreign keys off.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)
POOL_SIZE = 10
MAX_OVERFLOW = 10
CONNECT_TIMEOUT_SECONDS = 10


def create_engine(url: str) -> AsyncEngine:
    """Return an async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``)."""
    parsed = parse_url(url)
    with _refused_as_configuration():
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return create_async_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
            json_serializer=dumps_json,
        )


def create_migration_engine(url: str) -> AsyncEngine:
    """Return an engine for one migration run: no pool, and no pragmas.

    Foreign keys stay off on SQLite here because batch migrations copy tables, which
    an enforcing connection would refuse or cascade.
    """
    parsed = parse_url(url)
    ensure_sqlite_directory(parsed)
    with _refused_as_configuration():
        return create_async_engine(parsed, poolclass=NullPool)


def parse_url(url: str) -> URL:
    """Parse a database URL, or refuse to start."""
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError("the database URL cannot be parsed") from exc


@contextmanager
def _refused_as_configuration() -> Iterator[None]:
    try:
        yield
    except (ArgumentError, NoSuchModuleError, InvalidRequestError, ImportError) as exc:
        raise ConfigurationError(
            f"unusable database URL ({exc}); use sqlite+aiosqlite:// or postgresql+asyncpg://"
        ) from exc


def ensure_sqlite_directory(url: URL) -> None:
    """Create the directory of a file database; SQLite creates the file but not its parents."""
    database = url.database
    if url.get_backend_name() != "sqlite" or database is None or not is_sqlite_file(url):
        return
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the directory of the database {database}") from exc


def dumps_json(value: Any) -> str:
    """Serialize event data; decimals and instants become their exact text."""
    return json.dumps(value, default=json_default, separators=(",", ":"))


def json_default(value: object) -> str:
    """The text a decimal or an instant is stored as, inside JSON."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in event data")


def _sqlite_engine(url: URL) -> AsyncEngine:
    ensure_sqlite_directory(url)
    engine = create_async_engine(url, json_serializer=dumps_json)
    event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
    return engine


def sqlite_gate(url: URL) -> SqliteGate:
    """Return the thread that will own the SQLite file's connection, set up like the engine."""
    return SqliteGate(url, _apply_sqlite_pragmas, json_serializer=dumps_json)


def is_sqlite_file(url: URL) -> bool:
    """Return True for a SQLite database in a file (not in memory, not a URI)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return False
    return database != ":memory:" and not str(database).startswith("file:")


def _apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
