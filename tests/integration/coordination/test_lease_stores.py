"""Every lease store keeps one contract: in-process, SQLite, PostgreSQL and Redis.

The database and Redis stores expire leases by their server's clock, which no test controls:
these tests use TTLs of a fraction of a second and wait for conditions with deadlines. The
PostgreSQL and Redis cases run when their tier is configured and skip otherwise.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from order_service.adapters.coordination.leases_memory import InProcessLeaseStore
from order_service.adapters.coordination.leases_redis import RedisLeaseStore
from order_service.adapters.db.coordination import coordination_engine
from order_service.adapters.db.leases_repository import SqlLeaseStore
from order_service.adapters.db.migrate import upgrade_async
from order_service.domain.ids import AccountId
from order_service.errors import ServiceUnavailableError
from order_service.services.ports import LeaseStore
from tests.conftest import REDIS_URL
from tests.integration.db.conftest import postgres_url_or_skip, reset_postgres

pytestmark = pytest.mark.asyncio
ACCOUNT = AccountId("AB1234")
OTHER = AccountId("CD5678")
TTL = 1.0  # long enough that a loaded machine renews in time, short enough to wait out
LONG = 30.0  # a TTL no test outlives


@pytest_asyncio.fixture(params=["memory", "sqlite", "postgresql", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LeaseStore]:
    if request.param == "memory":
        yield InProcessLeaseStore()
    elif request.param == "redis":
        async for redis_store in _redis_store():
            yield redis_store
    else:
        async for sql_store in _sql_store(request.param, tmp_path):
            yield sql_store


async def _sql_store(kind: str, tmp_path: Path) -> AsyncIterator[LeaseStore]:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'leases.db'}"
    else:
        url = postgres_url_or_skip()
        await reset_postgres(url)
    await upgrade_async(url)
    engine = coordination_engine(url)
    yield SqlLeaseStore(engine)
    await engine.dispose()


async def _redis_store() -> AsyncIterator[LeaseStore]:
    if REDIS_URL is None:
        pytest.skip("ORDER_SERVICE_TEST_REDIS_URL is not set")
    prefix = f"order-service-test:{uuid.uuid4().hex}:"
    redis_store = RedisLeaseStore(REDIS_URL, prefix=prefix)
    yield redis_store
    await redis_store.close()
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def until_acquired(store: LeaseStore, holder: str, deadline: float = 5.0) -> int:
    """Try to take ACCOUNT until granted; return the token (fail after ``deadline`` s)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        token = await store.acquire(ACCOUNT, holder, LONG)
        if token is not None:
            return token
        await asyncio.sleep(0.02)
    raise AssertionError(f"{holder} was never granted the lease")


async def test_a_free_lease_is_granted_with_a_first_token_and_refused_to_others(
    store: LeaseStore,
) -> None:
    assert await store.acquire(ACCOUNT, "first", LONG) == 1
    assert await store.acquire(ACCOUNT, "second", LONG) is None
    assert await store.acquire(OTHER, "second", LONG) == 1  # tokens are per account


async def test_its_holder_is_granted_it_again_under_a_new_token(store: LeaseStore) -> None:
    await store.acquire(ACCOUNT, "first", LONG)

    assert await store.acquire(ACCOUNT, "first", LONG) == 2
    assert await store.renew("first", {ACCOUNT: 1}, LONG) == set()  # the old grant is gone
    assert await store.renew("first", {ACCOUNT: 2}, LONG) == {ACCOUNT}


async def test_renewal_outlasts_the_first_ttl_and_only_the_holder_of_the_token_renews(
    store: LeaseStore,
) -> None:
    token = await store.acquire(ACCOUNT, "first", TTL)
    assert token is not None
    for _ in range(4):  # well past one TTL in all
        await asyncio.sleep(TTL / 3)
        assert await store.renew("first", {ACCOUNT: token}, TTL) == {ACCOUNT}

    assert await store.renew("second", {ACCOUNT: token}, TTL) == set()
    assert await store.renew("first", {ACCOUNT: token + 1}, TTL) == set()
    assert await store.acquire(ACCOUNT, "second", TTL) is None


async def test_an_expired_lease_goes_to_another_holder_with_a_higher_token(
    store: LeaseStore,
) -> None:
    first_token = await store.acquire(ACCOUNT, "first", TTL)
    assert first_token is not None

    second_token = await until_acquired(store, "second")

    assert second_token > first_token
    assert await store.renew("first", {ACCOUNT: first_token}, LONG) == set()


async def test_a_released_lease_is_free_at_once_and_a_stale_release_changes_nothing(
    store: LeaseStore,
) -> None:
    token = await store.acquire(ACCOUNT, "first", LONG)
    assert token is not None
    await store.release(ACCOUNT, "second", token)  # not the holder
    await store.release(ACCOUNT, "first", token + 1)  # not the token
    assert await store.acquire(ACCOUNT, "second", LONG) is None

    await store.release(ACCOUNT, "first", token)

    assert await store.acquire(ACCOUNT, "second", LONG) == token + 1


async def test_of_two_holders_racing_for_a_free_lease_exactly_one_wins(
    store: LeaseStore,
) -> None:
    grants = await asyncio.gather(*(store.acquire(ACCOUNT, f"holder-{n}", LONG) for n in range(8)))

    assert [grant for grant in grants if grant is not None] == [1]


async def test_holders_are_counted_while_they_announce_themselves(store: LeaseStore) -> None:
    assert await store.announce("first", LONG) == 1
    assert await store.announce("second", TTL) == 2
    await store.withdraw("first")
    assert await store.announce("third", LONG) == 2

    started = time.monotonic()
    while await store.announce("third", LONG) != 1:  # "second" stops announcing
        assert time.monotonic() - started < 5.0
        await asyncio.sleep(0.05)


async def test_an_unreachable_redis_is_service_unavailable() -> None:
    unreachable = RedisLeaseStore("redis://127.0.0.1:1/0", timeout=0.2)
    try:
        with pytest.raises(ServiceUnavailableError):
            await unreachable.acquire(ACCOUNT, "first", LONG)
        with pytest.raises(ServiceUnavailableError):
            await unreachable.renew("first", {ACCOUNT: 1}, LONG)
    finally:
        await unreachable.close()
