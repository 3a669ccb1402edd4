"""Process heartbeats in the database: alive while beating, gone on leaving or on expiry.

Two registries on one database stand for two processes (on SQLite: two processes on one file).
Expiry is judged by the database server's clock, so the short TTLs here are waited out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from order_service.adapters.db.coordination import coordination_engine
from order_service.adapters.db.liveness_repository import SqlInstanceRegistry
from order_service.entrypoints.workers.liveness import heartbeating
from order_service.services.liveness import SharedLiveness

pytestmark = pytest.mark.asyncio
LONG = 30.0


@pytest_asyncio.fixture
async def registries(migrated_url: str) -> AsyncIterator[tuple[SqlInstanceRegistry, ...]]:
    engines = [coordination_engine(migrated_url) for _ in range(2)]
    yield tuple(SqlInstanceRegistry(engine) for engine in engines)
    for engine in engines:
        await engine.dispose()


async def test_a_beating_instance_is_alive_to_another_process(
    registries: tuple[SqlInstanceRegistry, ...],
) -> None:
    first, second = registries
    await first.beat("first", LONG)
    await first.beat("first", LONG)  # a later beat extends the same row

    assert await second.alive({"first", "never-seen"}) == {"first"}
    assert await second.alive(set()) == set()


async def test_an_instance_that_leaves_is_gone_at_once(
    registries: tuple[SqlInstanceRegistry, ...],
) -> None:
    first, second = registries
    await first.beat("first", LONG)
    await second.beat("second", LONG)

    await first.leave("first")

    assert await second.alive({"first", "second"}) == {"second"}


async def test_an_instance_that_stops_beating_is_dead_once_its_heartbeat_expires(
    registries: tuple[SqlInstanceRegistry, ...],
) -> None:
    first, second = registries
    await first.beat("first", 1.0)
    assert await second.alive({"first"}) == {"first"}

    started = time.monotonic()
    while await second.alive({"first"}):
        assert time.monotonic() - started < 5.0, "the heartbeat never expired"
        await asyncio.sleep(0.05)


async def test_a_process_is_alive_to_itself_and_beats_while_it_runs(
    registries: tuple[SqlInstanceRegistry, ...],
) -> None:
    first, second = registries
    liveness = SharedLiveness(first, "mine", interval=0.1, expiry=1.5)
    assert await liveness.alive({"mine", "other"}) == {"mine"}  # even before its first beat

    async with heartbeating(liveness):
        await asyncio.sleep(1.7)  # beyond one expiry: only the background beats keep it
        assert await second.alive({"mine"}) == {"mine"}

    assert await second.alive({"mine"}) == set()  # left on a clean exit
