"""A database of its own for one benchmark run: a SQLite file, or a PostgreSQL database made
for the run and dropped after it; migrated either way."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from order_service.adapters.db.migrate import upgrade_async

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def scratch_database(
    kind: str, postgres_url: str, var_dir: Path, name: str
) -> AsyncIterator[str]:
    """Yield the URL of an empty, migrated database called after ``name``."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{var_dir / f'{name}.db'}"
        await upgrade_async(url)
        yield url
        return
    database = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    await _admin(postgres_url, f'CREATE DATABASE "{database}"')
    try:
        url = make_url(postgres_url).set(database=database).render_as_string(hide_password=False)
        await upgrade_async(url)
        yield url
    finally:
        await _admin(postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _admin(base_url: str, sql: str) -> None:
    dsn = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
