"""The Redis budget's Lua admits what ``domain.budget`` admits: one schedule, no window overfilled.

Runs when ORDER_SERVICE_TEST_REDIS_URL is set. Redis's clock (``TIME``) cannot be set, so each
reservation's moment is read back from Redis itself: an admitted one's is its stored slot less
the wait it was given, and a refused one's lies between two probes, reservations for fresh
accounts that Redis admits at once, at its own now. The in-process budget, on a clock set to
those moments, is the oracle.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from order_service.adapters.coordination.memory import InProcessRateBudget
from order_service.adapters.coordination.redis import RedisRateBudget
from order_service.domain.budget import Bucket, BudgetRules, Window, earliest_admission
from order_service.domain.ids import AccountId
from order_service.errors import RateLimitError
from tests.conftest import REDIS_URL

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(REDIS_URL is None, reason="ORDER_SERVICE_TEST_REDIS_URL is not set"),
]

ACCOUNTS = (AccountId("AB1234"), AccountId("CD5678"))
RULES = BudgetRules(
    {
        Bucket.ORDERS: (Window(2, 0.2), Window(3, 0.5)),
        Bucket.OTHER: (Window(2, 0.3),),
        Bucket.QUOTES: (Window(1, 0.25),),  # the probes'
    },
    margin=0.02,
)
TOLERANCE = 1e-5  # the script rounds slots and waits to the microsecond


@dataclass(frozen=True)
class Step:
    account_id: AccountId
    bucket: Bucket
    pause: float  # slept before the reservation, so windows fill, slide and empty
    max_wait: float


@dataclass(frozen=True)
class Outcome:
    step: Step
    wait: float  # the wait given, or the refusal's retry_after
    slot: float | None  # the admission time Redis stored; None when refused
    not_before: float  # Redis's clock by the probe just before the reservation
    not_after: float  # and by the probe just after it


steps = st.lists(
    st.builds(
        Step,
        account_id=st.sampled_from(ACCOUNTS),
        bucket=st.sampled_from([Bucket.ORDERS, Bucket.OTHER]),
        pause=st.sampled_from([0.0, 0.03, 0.12]),
        max_wait=st.sampled_from([0.0, 0.1, 1.0]),
    ),
    min_size=1,
    max_size=8,
)
BURST = [Step(ACCOUNTS[0], Bucket.ORDERS, 0.0, wait) for wait in (0.0, 0.0, 0.0, 1.0, 1.0, 0.1)]


@settings(max_examples=8, deadline=None)
@given(steps)
@example(BURST)  # refused, then paced by the 0.2 s and the 0.5 s window, then refused again
def test_redis_admits_the_schedule_the_domain_rule_admits(schedule: list[Step]) -> None:
    outcomes = asyncio.run(reserve_all(schedule))

    asyncio.run(check_against_the_oracle(outcomes))


async def reserve_all(schedule: list[Step]) -> list[Outcome]:
    """Run the schedule against Redis; return each outcome with the moments around it."""
    assert REDIS_URL is not None
    prefix = f"order-service-test:{uuid.uuid4().hex}:"
    budget = RedisRateBudget(REDIS_URL, RULES, prefix=prefix)
    client = Redis.from_url(REDIS_URL)
    probes = (AccountId(f"PROBE{n}") for n in itertools.count())

    async def slots(account_id: AccountId, bucket: Bucket) -> dict[bytes, float]:
        key = budget.key(account_id, bucket, RULES.of(bucket)[0])
        members = await client.zrange(key, 0, -1, withscores=True)
        return dict(cast("list[tuple[bytes, float]]", members))

    async def redis_now() -> float:
        account_id = next(probes)
        assert await budget.reserve(account_id, Bucket.QUOTES, 0.0) == 0.0
        (slot,) = (await slots(account_id, Bucket.QUOTES)).values()
        return slot

    async def reserve(step: Step) -> Outcome:
        await asyncio.sleep(step.pause)
        not_before = await redis_now()
        before = await slots(step.account_id, step.bucket)
        try:
            wait = await budget.reserve(step.account_id, step.bucket, step.max_wait)
        except RateLimitError as refusal:
            return Outcome(step, refusal.retry_after, None, not_before, await redis_now())
        after = await slots(step.account_id, step.bucket)
        (slot,) = [score for member, score in after.items() if member not in before]
        return Outcome(step, wait, slot, not_before, await redis_now())

    try:
        return [await reserve(step) for step in schedule]
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await budget.close()


async def check_against_the_oracle(outcomes: list[Outcome]) -> None:
    """Replay the outcomes on the in-process budget at Redis's moments; both must agree."""
    clock = [0.0]
    oracle = InProcessRateBudget(RULES, now=lambda: clock[0])
    admitted: defaultdict[tuple[AccountId, Bucket], list[float]] = defaultdict(list)
    for outcome in outcomes:
        step = outcome.step
        history = admitted[step.account_id, step.bucket]
        if outcome.slot is None:
            assert outcome.wait > step.max_wait, outcome
            assert refusal_is_explained(outcome, history), (outcome, history)
            continue
        clock[0] = now = outcome.slot - outcome.wait
        assert outcome.not_before - TOLERANCE <= now <= outcome.not_after + TOLERANCE, outcome
        try:
            expected = await oracle.reserve(step.account_id, step.bucket, step.max_wait)
        except RateLimitError as refusal:
            pytest.fail(f"Redis admitted {outcome}, the domain rule waits {refusal.retry_after}")
        assert outcome.wait == pytest.approx(expected, abs=TOLERANCE), (outcome, history)
        history.append(outcome.slot)
    for (_, bucket), slots in admitted.items():
        assert not overfilled(slots, RULES.of(bucket)), (bucket, slots)


def refusal_is_explained(outcome: Outcome, history: list[float]) -> bool:
    """Is the refusal's wait the domain rule's, at some moment between the probes around it?

    A refused wait is positive, so it runs to the end of a blocked span: some admitted slot
    plus a window's width. Each such end gives the moment the refusal must have been made at.
    """
    windows = RULES.of(outcome.step.bucket)
    for slot, window in itertools.product(history, windows):
        end = slot + window.seconds + RULES.margin
        now = end - outcome.wait
        if not outcome.not_before - TOLERANCE <= now <= outcome.not_after + TOLERANCE:
            continue
        if abs(earliest_admission(history, now, windows, RULES.margin) - end) <= TOLERANCE:
            return True
    return False


def overfilled(slots: list[float], windows: tuple[Window, ...]) -> bool:
    """Do some ``limit + 1`` consecutive admissions fall within one window and its margin?"""
    ordered = sorted(slots)
    return any(
        ordered[first + window.limit] - ordered[first] < window.seconds + RULES.margin - TOLERANCE
        for window in windows
        for first in range(len(ordered) - window.limit)
    )
