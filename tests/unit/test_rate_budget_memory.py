"""InProcessRateBudget on a fake clock: pacing, the wait limit, independent accounts and buckets."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from order_service.adapters.coordination.memory import InProcessRateBudget
from order_service.adapters.coordination.metered import MeteredRateBudget
from order_service.bootstrap import budget_rules
from order_service.config import Settings
from order_service.domain.budget import Bucket, BudgetRules, Window
from order_service.domain.ids import AccountId
from order_service.errors import RateLimitError
from tests.factories import ACCOUNT

KITE = budget_rules(Settings())

pytestmark = pytest.mark.asyncio

OTHER = AccountId("PAPER2")


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = 1000.0

    def __call__(self) -> float:
        return self.current


async def reserve_many(
    budget: InProcessRateBudget, count: int, account: AccountId = ACCOUNT
) -> list[float]:
    return [await budget.reserve(account, Bucket.ORDERS, 60.0) for _ in range(count)]


async def test_a_burst_waits_its_turn_second_by_second() -> None:
    budget = InProcessRateBudget(KITE, now=Ticker())

    waits = await reserve_many(budget, 25)

    assert waits[:10] == [0.0] * 10
    assert waits[10:20] == pytest.approx([1.05] * 10)
    assert waits[20:] == pytest.approx([2.10] * 5)


async def test_time_passing_frees_the_window() -> None:
    ticker = Ticker()
    budget = InProcessRateBudget(KITE, now=ticker)
    await reserve_many(budget, 10)

    ticker.current += 1.05

    assert await reserve_many(budget, 10) == [0.0] * 10


async def test_a_slot_beyond_the_wait_limit_is_refused_and_reserves_nothing() -> None:
    budget = InProcessRateBudget(KITE, now=Ticker())
    await reserve_many(budget, 10)

    with pytest.raises(RateLimitError) as caught:
        await budget.reserve(ACCOUNT, Bucket.ORDERS, 0.5)

    assert caught.value.retry_after == pytest.approx(1.05)
    assert caught.value.details == {
        "account_id": ACCOUNT,
        "bucket": "orders",
        "retry_after_seconds": caught.value.retry_after,
    }
    assert await reserve_many(budget, 10) == pytest.approx([1.05] * 10)


async def test_accounts_and_buckets_have_their_own_budgets() -> None:
    budget = InProcessRateBudget(KITE, now=Ticker())
    await reserve_many(budget, 10)

    assert await reserve_many(budget, 10, OTHER) == [0.0] * 10
    assert [await budget.reserve(ACCOUNT, Bucket.OTHER, 0.0) for _ in range(10)] == [0.0] * 10
    assert await budget.reserve(ACCOUNT, Bucket.QUOTES, 0.0) == 0.0
    with pytest.raises(RateLimitError):
        await budget.reserve(ACCOUNT, Bucket.QUOTES, 0.5)


async def test_the_longer_windows_hold_too() -> None:
    ticker = Ticker()
    rules = BudgetRules({Bucket.ORDERS: (Window(2, 1.0), Window(3, 60.0))}, margin=0.0)
    budget = InProcessRateBudget(rules, now=ticker)

    assert await reserve_many(budget, 4) == [0.0, 0.0, 1.0, 60.0]
    ticker.current += 120.0
    assert await reserve_many(budget, 2) == [0.0, 0.0]


async def test_close_forgets_the_reservations() -> None:
    budget = InProcessRateBudget(KITE, now=Ticker())
    await reserve_many(budget, 10)

    await budget.close()

    assert await reserve_many(budget, 1) == [0.0]


async def test_the_metered_budget_observes_every_granted_wait() -> None:
    labels = {"bucket": "quotes"}
    before = REGISTRY.get_sample_value("order_service_rate_limit_wait_seconds_count", labels) or 0
    total = REGISTRY.get_sample_value("order_service_rate_limit_wait_seconds_sum", labels) or 0
    budget = MeteredRateBudget(InProcessRateBudget(KITE, now=Ticker()))

    waits = [await budget.reserve(ACCOUNT, Bucket.QUOTES, 5.0) for _ in range(2)]
    await budget.close()

    count = REGISTRY.get_sample_value("order_service_rate_limit_wait_seconds_count", labels)
    assert count == before + 2
    summed = REGISTRY.get_sample_value("order_service_rate_limit_wait_seconds_sum", labels)
    assert summed == pytest.approx(total + sum(waits))
    assert waits == pytest.approx([0.0, 1.05])
