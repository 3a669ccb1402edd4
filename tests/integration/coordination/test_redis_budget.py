"""RedisRateBudget against a real Redis: two processes share one budget; Redis down fails closed.

Runs when ORDER_SERVICE_TEST_REDIS_URL is set. Each test uses its own key prefix and removes it.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from order_service.adapters.coordination.redis import RedisRateBudget
from order_service.domain.budget import Bucket, BudgetRules, Window
from order_service.domain.ids import AccountId
from order_service.errors import RateLimitError, ServiceUnavailableError
from tests.conftest import REDIS_URL

pytestmark = [
    pytest.mark.redis,
    pytest.mark.asyncio,
    pytest.mark.skipif(REDIS_URL is None, reason="ORDER_SERVICE_TEST_REDIS_URL is not set"),
]

ACCOUNT = AccountId("AB1234")
MARGIN = 0.05
RULES = BudgetRules(
    {
        Bucket.ORDERS: (Window(3, 0.3), Window(5, 1.0)),
        Bucket.OTHER: (Window(4, 0.4),),
        Bucket.QUOTES: (Window(1, 1.0),),
    },
    margin=MARGIN,
)


@pytest_asyncio.fixture
async def prefix() -> AsyncIterator[str]:
    assert REDIS_URL is not None
    name = f"order-service-test:{uuid.uuid4().hex}:"
    yield name
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{name}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def two_processes(prefix: str) -> AsyncIterator[tuple[RedisRateBudget, RedisRateBudget]]:
    assert REDIS_URL is not None
    first = RedisRateBudget(REDIS_URL, RULES, prefix=prefix)
    second = RedisRateBudget(REDIS_URL, RULES, prefix=prefix)
    yield first, second
    await first.close()
    await second.close()


async def admission_times(budget: RedisRateBudget, bucket: Bucket, window: Window) -> list[float]:
    """Read the reserved times (Redis's clock) of one window straight from its sorted set."""
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    try:
        members = await client.zrange(budget.key(ACCOUNT, bucket, window), 0, -1, withscores=True)
    finally:
        await client.aclose()
    return sorted(score for _, score in members)


def overfilled(times: list[float], window: Window, slack: float = 1e-5) -> bool:
    """Do some ``limit + 1`` consecutive times span less than ``window.seconds``?"""
    return any(
        times[first + window.limit] - times[first] < window.seconds - slack
        for first in range(len(times) - window.limit)
    )


async def send_when_allowed(budget: RedisRateBudget, bucket: Bucket) -> float:
    """Reserve, wait the returned time as the gateway does, and return when we 'sent'."""
    await asyncio.sleep(await budget.reserve(ACCOUNT, bucket, 10.0))
    return time.monotonic()


async def test_two_processes_never_exceed_a_shared_window(
    two_processes: tuple[RedisRateBudget, RedisRateBudget],
) -> None:
    first, second = two_processes
    started = time.monotonic()

    sent = sorted(
        await asyncio.gather(
            *(send_when_allowed(budget, Bucket.OTHER) for budget in [first, second] * 8)
        )
    )

    (window,) = RULES.of(Bucket.OTHER)
    reserved = await admission_times(first, Bucket.OTHER, window)
    assert len(reserved) == 16
    assert not overfilled(reserved, Window(window.limit, window.seconds + MARGIN))
    assert not overfilled(sent, Window(window.limit, window.seconds), slack=MARGIN / 2)
    # Paced, not stalled: never sooner than three full windows allow, and not much later
    # (the upper bound leaves room for a loaded machine's late wake-ups).
    paced = 3 * (window.seconds + MARGIN)
    assert paced - 0.05 <= sent[-1] - started <= paced + 1.0


async def test_every_window_of_a_bucket_holds_across_processes(
    two_processes: tuple[RedisRateBudget, RedisRateBudget],
) -> None:
    first, second = two_processes

    waits = [await budget.reserve(ACCOUNT, Bucket.ORDERS, 10.0) for budget in [first, second] * 4]

    # Each wait is what is left of its window when asked; calls take time, so only an upper
    # bound is exact and the lower one allows for a slow machine.
    assert waits[:3] == [0.0] * 3
    assert all(0.1 <= wait <= 0.36 for wait in waits[3:5]), waits
    assert all(0.8 <= wait <= 1.06 for wait in waits[5:]), waits
    for window in RULES.of(Bucket.ORDERS):
        times = await admission_times(first, Bucket.ORDERS, window)
        assert not overfilled(times, Window(window.limit, window.seconds + MARGIN))


async def test_a_slot_beyond_the_wait_limit_reserves_nothing(
    two_processes: tuple[RedisRateBudget, RedisRateBudget],
) -> None:
    first, second = two_processes
    await first.reserve(ACCOUNT, Bucket.QUOTES, 0.0)

    with pytest.raises(RateLimitError) as caught:
        await second.reserve(ACCOUNT, Bucket.QUOTES, 0.5)

    assert 0.8 <= caught.value.retry_after <= 1.06  # the rest of the window, as of the refusal
    (window,) = RULES.of(Bucket.QUOTES)
    assert len(await admission_times(first, Bucket.QUOTES, window)) == 1
    assert await first.reserve(AccountId("CD5678"), Bucket.QUOTES, 0.0) == 0.0


async def test_keys_expire_once_they_cannot_matter(
    two_processes: tuple[RedisRateBudget, RedisRateBudget],
) -> None:
    first, _ = two_processes
    await first.reserve(ACCOUNT, Bucket.ORDERS, 0.0)

    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    try:
        for window in RULES.of(Bucket.ORDERS):
            ttl = await client.pttl(first.key(ACCOUNT, Bucket.ORDERS, window))
            assert 0 < ttl <= (window.seconds + MARGIN) * 1000 + 1001
    finally:
        await client.aclose()


async def test_redis_down_is_service_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    budget = RedisRateBudget(f"redis://127.0.0.1:{port}/0", RULES, timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            await budget.reserve(ACCOUNT, Bucket.ORDERS, 1.0)
    finally:
        await budget.close()

    assert caught.value.details["service"] == "redis"
