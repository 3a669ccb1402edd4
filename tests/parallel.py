"""Test databases of their own for each pytest-xdist worker.

The PostgreSQL tier drops and recreates its database's schema around tests, and the Redis tier
writes keys it removes afterwards: two workers sharing one database would undo each other's
work. Worker ``gwN`` uses the database ``<name>_gwN`` (created on first use) and Redis database
``base + 1 + N``; without xdist nothing changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from urllib.parse import urlsplit, urlunsplit

import asyncpg

POSTGRES_ENV = "ORDER_SERVICE_TEST_POSTGRES_URL"
REDIS_ENV = "ORDER_SERVICE_TEST_REDIS_URL"
WORKER_ENV = "PYTEST_XDIST_WORKER"
REDIS_DATABASES = 16  # Redis's default `databases`


def isolate_worker(environ: MutableMapping[str, str]) -> None:
    """Point the PostgreSQL and Redis tiers of this xdist worker at databases of its own."""
    worker = environ.get(WORKER_ENV)
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    if postgres := environ.get(POSTGRES_ENV):
        environ[POSTGRES_ENV] = asyncio.run(_own_postgres(postgres, worker))
    if redis := environ.get(REDIS_ENV):
        environ[REDIS_ENV] = _own_redis(redis, index)


async def _own_postgres(url: str, worker: str) -> str:
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "postgres"
    name = f"{base}_{worker}"
    connection = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def _own_redis(url: str, index: int) -> str:
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + 1 + index) % REDIS_DATABASES}"))
