"""Engine settings, readiness, and what an unreachable database looks like to the services."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.health import database_ready
from order_service.adapters.db.unit_of_work import SqlUnitOfWork, sql_uow_factory
from order_service.domain.account import Account
from order_service.domain.ids import AccountId
from order_service.errors import ConfigurationError, DatabaseError

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


@pytest_asyncio.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'orders.db'}")
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(params=["closed-port", "directory-as-file"])
async def unreachable_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An engine whose database cannot be opened: nothing listens, or the path is a directory."""
    url = CLOSED_PORT_URL
    if request.param == "directory-as-file":
        (tmp_path / "orders.db").mkdir()
        url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    await _sqlite_workers_stopped()


async def _sqlite_workers_stopped(deadline_seconds: float = 5.0) -> None:
    """Wait for aiosqlite's worker threads to end while the event loop still runs.

    After a failed connect aiosqlite stops its worker without awaiting it; if the test's
    loop closed first, the worker would fail to hand back its result in another thread.
    """
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, deadline_seconds)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("synchronous", 1), ("busy_timeout", 5000), ("foreign_keys", 1)],
)
async def test_every_sqlite_connection_is_tuned(
    sqlite_engine: AsyncEngine, pragma: str, expected: object
) -> None:
    async with sqlite_engine.connect() as connection:
        value = (await connection.execute(text(f"PRAGMA {pragma}"))).scalar_one()

    assert value == expected


@pytest.mark.asyncio
async def test_the_directory_of_a_sqlite_file_is_created(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    assert (tmp_path / "a" / "b").is_dir()
    assert await database_ready(sqlite_engine)


@pytest.mark.asyncio
async def test_an_in_memory_database_works_with_its_single_connection() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert await database_ready(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "url", ["not a url", "sqlite:///orders.db", "nosuchdb+driver://host/db", "postgresql://h/db"]
)
def test_an_unusable_url_refuses_to_start(url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_engine(url)


@pytest.mark.asyncio
async def test_a_pooled_postgresql_connection_killed_by_the_server_is_replaced(
    postgres_url: str,
) -> None:
    engine, killer = create_engine(postgres_url), create_engine(postgres_url)
    try:
        first_pid = await _backend_pid(engine)
        async with killer.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})

        second_pid = await _backend_pid(engine)  # the pool hands out a fresh connection
    finally:
        await engine.dispose()
        await killer.dispose()

    assert second_pid != first_pid


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.asyncio
async def test_a_migrated_database_is_ready(engine: AsyncEngine) -> None:
    assert await database_ready(engine) is True


@pytest.mark.asyncio
async def test_an_unreachable_database_is_not_ready(unreachable_engine: AsyncEngine) -> None:
    assert await database_ready(unreachable_engine) is False


@pytest.mark.asyncio
async def test_an_unreachable_database_raises_database_error(
    unreachable_engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(unreachable_engine, SecretCipher("key"))

    with pytest.raises(DatabaseError) as caught:
        async with uow_factory() as uow:
            await uow.accounts.get(AccountId("AB1234"))

    assert caught.value.retryable
    assert caught.value.__cause__ is not None


@pytest.mark.asyncio
async def test_a_write_to_an_unreachable_database_raises_database_error(
    unreachable_engine: AsyncEngine, make_account: Callable[..., Account]
) -> None:
    uow: SqlUnitOfWork = sql_uow_factory(unreachable_engine, SecretCipher("key"))()

    async def add_and_commit() -> None:
        async with uow:
            await uow.accounts.add(make_account())
            await uow.commit()

    with pytest.raises(DatabaseError):
        await add_and_commit()
