"""Every migration runs on an empty database of each engine and yields exactly tables.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.migrate import alembic_config, downgrade, upgrade, upgrade_async
from order_service.adapters.db.tables import metadata
from order_service.errors import ConfigurationError, DatabaseError


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str, check: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(check)
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_an_empty_database_has_no_tables_until_migrated(engine_url: str) -> None:
    assert await _inspect(engine_url, _table_names) == set()
    assert await _inspect(engine_url, _schema_diff) != []


@pytest.mark.asyncio
async def test_upgrade_builds_exactly_the_schema_of_tables_py(migrated_url: str) -> None:
    assert await _inspect(migrated_url, _schema_diff) == []
    tables = await _inspect(migrated_url, _table_names)
    assert tables == set(metadata.tables) | {"alembic_version"}


@pytest.mark.asyncio
async def test_upgrade_twice_changes_nothing(migrated_url: str) -> None:
    await upgrade_async(migrated_url)

    assert await _inspect(migrated_url, _schema_diff) == []


@pytest.mark.asyncio
async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    migrated_url: str,
) -> None:
    await asyncio.to_thread(downgrade, migrated_url, "base")
    assert await _inspect(migrated_url, _table_names) == {"alembic_version"}

    await upgrade_async(migrated_url)
    assert await _inspect(migrated_url, _schema_diff) == []


@pytest.mark.asyncio
async def test_the_stored_revision_is_the_newest(migrated_url: str) -> None:
    def revision(connection: Connection) -> Any:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    head = ScriptDirectory.from_config(alembic_config(migrated_url)).get_current_head()
    assert head == "0022"
    assert await _inspect(migrated_url, revision) == head


def test_upgrade_works_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    database = tmp_path / "nested" / "dir" / "orders.db"

    upgrade(f"sqlite+aiosqlite:///{database}")

    assert database.is_file()
    assert not any(elsewhere.iterdir())


def test_upgrade_refuses_an_unusable_url() -> None:
    with pytest.raises(ConfigurationError):
        upgrade("not a database url")


def test_upgrade_of_an_unreachable_database_is_a_database_error() -> None:
    with pytest.raises(DatabaseError):
        upgrade("postgresql+asyncpg://postgres@127.0.0.1:1/test")


@pytest.mark.asyncio
async def test_on_postgresql_the_unsettled_indexes_hold_only_unsettled_orders(
    postgres_url: str,
) -> None:
    await upgrade_async(postgres_url)

    def definitions(connection: Connection) -> dict[str, str]:
        rows = connection.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders'")
        )
        return {name: definition for name, definition in rows}

    found = await _inspect(postgres_url, definitions)
    for name in ("ix_orders_status", "ix_orders_account_id_status"):
        assert "WHERE" in found[name]
        assert "'UNKNOWN'" in found[name]
        assert "'COMPLETE'" not in found[name]
    assert "ix_orders_broker_order_id" not in found  # (account, broker id)'s unique key serves


@pytest.mark.asyncio
async def test_on_postgresql_the_unsettled_queries_use_the_partial_indexes(
    postgres_url: str,
) -> None:
    await upgrade_async(postgres_url)

    def plan(connection: Connection) -> str:
        connection.execute(text("SET enable_seqscan = off"))
        lines = connection.execute(
            text(
                "EXPLAIN SELECT order_id FROM orders WHERE account_id = 'A'"
                " AND status IN ('OPEN', 'UNKNOWN')"
            )
        )
        return "\n".join(line for (line,) in lines)

    assert "ix_orders_account_id_status" in await _inspect(postgres_url, plan)


@pytest.mark.asyncio
async def test_an_events_place_carries_no_foreign_key(migrated_url: str) -> None:
    def keys(connection: Connection) -> list[Any]:
        return inspect(connection).get_foreign_keys("order_event_positions")

    assert await _inspect(migrated_url, keys) == []
