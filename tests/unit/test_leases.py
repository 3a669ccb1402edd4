"""The lease keeper: fair shares, renewal, expiry by our own clock, takeover with a higher token.

Keepers here share an in-process store and one clock the tests move; their fences are raised
in the fake database, as the real keeper raises them in the real one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

import pytest

from order_service.adapters.coordination.leases_memory import InProcessLeaseStore
from order_service.domain.ids import AccountId
from order_service.errors import StaleLease
from order_service.services.fencing import Fence, fence_of, fence_raiser
from order_service.services.leases import LeaseKeeper, LeasePolicy
from tests.unit.fakes import FakeStore, FakeUnitOfWork

POLICY = LeasePolicy(ttl=6.0, renew_every=2.0, margin=1.0)
ACCOUNTS = [AccountId(f"AC{n:02}") for n in range(10)]


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def monotonic() -> Ticking:
    return Ticking()


@pytest.fixture
def lease_store(monotonic: Ticking) -> InProcessLeaseStore:
    return InProcessLeaseStore(monotonic)


@pytest.fixture
def database() -> FakeStore:
    return FakeStore()


@pytest.fixture
def accounts() -> list[AccountId]:
    return list(ACCOUNTS)


@pytest.fixture
def keeper_of(
    lease_store: InProcessLeaseStore,
    database: FakeStore,
    accounts: list[AccountId],
    monotonic: Ticking,
) -> Callable[[str], LeaseKeeper]:
    async def candidates() -> list[AccountId]:
        return list(accounts)

    def make(holder: str) -> LeaseKeeper:
        raise_fence = fence_raiser(lambda: FakeUnitOfWork(database))
        return LeaseKeeper(lease_store, holder, candidates, raise_fence, POLICY, monotonic)

    return make


@pytest.mark.asyncio
async def test_a_lone_keeper_takes_every_account_with_a_first_token(
    keeper_of: Callable[[str], LeaseKeeper], database: FakeStore
) -> None:
    keeper = keeper_of("one")

    changes = await keeper.keep()

    assert sorted(changes.acquired) == ACCOUNTS
    assert changes.held == 10
    assert keeper.held() == dict.fromkeys(ACCOUNTS, 1)
    assert all(keeper.owns(account) for account in ACCOUNTS)
    assert database.fences == dict.fromkeys(ACCOUNTS, 1)  # raised before the work starts


@pytest.mark.asyncio
async def test_ownership_ends_a_margin_before_the_store_expiry_without_any_round(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    keeper = keeper_of("one")
    await keeper.keep()

    monotonic.advance(POLICY.ttl - POLICY.margin - 0.01)
    assert keeper.owns(ACCOUNTS[0])
    assert keeper.token(ACCOUNTS[0]) == 1

    monotonic.advance(0.02)
    assert not keeper.owns(ACCOUNTS[0])
    assert keeper.token(ACCOUNTS[0]) is None
    assert keeper.held() == {}


@pytest.mark.asyncio
async def test_each_round_renews_the_leases_it_holds(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    keeper = keeper_of("one")
    await keeper.keep()

    for _ in range(10):  # 20 s: far past one TTL, renewed every 2 s
        monotonic.advance(POLICY.renew_every)
        changes = await keeper.keep()
        assert (changes.acquired, changes.lost, changes.released) == ((), (), ())

    assert keeper.held() == dict.fromkeys(ACCOUNTS, 1)


@pytest.mark.asyncio
async def test_two_keepers_split_ten_accounts_five_and_five(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    first, second = keeper_of("first"), keeper_of("second")
    await first.keep()

    await second.keep()  # the newcomer is counted; nothing is free yet
    monotonic.advance(POLICY.renew_every)
    shed = await first.keep()  # the first sees two holders and gives up its surplus
    taken = await second.keep()

    assert len(shed.released) == 5
    assert sorted(taken.acquired) == sorted(shed.released)
    assert len(first.held()) == len(second.held()) == 5
    assert not set(first.held()) & set(second.held())
    assert set(second.held().values()) == {2}  # the second grant of each account


@pytest.mark.asyncio
async def test_three_keepers_each_hold_at_most_their_fair_share(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    keepers = [keeper_of(name) for name in ("a", "b", "c")]
    for _ in range(3):
        for keeper in keepers:
            await keeper.keep()
        monotonic.advance(POLICY.renew_every)

    held = [set(keeper.held()) for keeper in keepers]
    assert all(len(accounts) <= 4 for accounts in held)  # ceil(10 / 3)
    assert set().union(*held) == set(ACCOUNTS)
    assert sum(map(len, held)) == 10


@pytest.mark.asyncio
async def test_when_a_keeper_dies_the_other_takes_its_accounts_with_higher_tokens(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    survivor, doomed = keeper_of("survivor"), keeper_of("doomed")
    await survivor.keep()
    await doomed.keep()
    monotonic.advance(POLICY.renew_every)
    await survivor.keep()
    await doomed.keep()
    orphaned = doomed.held()

    seconds = 0.0
    while len(survivor.held()) < 10:  # the doomed one never runs another round
        monotonic.advance(POLICY.renew_every)
        seconds += POLICY.renew_every
        await survivor.keep()
        assert seconds <= POLICY.ttl + POLICY.renew_every

    assert all(survivor.held()[account] > token for account, token in orphaned.items())


@pytest.mark.asyncio
async def test_a_released_lease_is_taken_at_the_next_round(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    leaving, staying = keeper_of("leaving"), keeper_of("staying")
    await leaving.keep()
    await staying.keep()

    released = await leaving.release_all()
    taken = await staying.keep()  # no wait for any TTL

    assert sorted(released.released) == ACCOUNTS
    assert not leaving.owns(ACCOUNTS[0])
    assert sorted(taken.acquired) == ACCOUNTS


@pytest.mark.asyncio
async def test_an_account_at_work_is_not_shed_until_its_work_ends(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    first, second = keeper_of("first"), keeper_of("second")
    await first.keep()
    await second.keep()
    monotonic.advance(POLICY.renew_every)

    with ExitStack() as work:
        for account in ACCOUNTS:
            work.enter_context(first.working(account))
        during = await first.keep()
    after = await first.keep()

    assert during.released == ()
    assert during.held == 10
    assert len(after.released) == 5
    assert len(first.held()) == 5


@pytest.mark.asyncio
async def test_a_lease_lost_in_the_store_is_dropped_at_the_next_round(
    keeper_of: Callable[[str], LeaseKeeper], monotonic: Ticking
) -> None:
    paused, other = keeper_of("paused"), keeper_of("other")
    await paused.keep()
    monotonic.advance(POLICY.ttl + 1)  # the paused process misses every renewal
    await other.keep()  # and another takes its accounts

    changes = await paused.keep()

    assert sorted(changes.lost) == ACCOUNTS
    assert paused.held() == {}
    assert set(other.held().values()) == {2}


@pytest.mark.asyncio
async def test_a_grant_below_the_fence_is_refused_and_given_back(
    keeper_of: Callable[[str], LeaseKeeper],
    database: FakeStore,
    lease_store: InProcessLeaseStore,
) -> None:
    database.fences[ACCOUNTS[0]] = 99  # a store that lost its counters grants token 1 again
    keeper = keeper_of("one")

    changes = await keeper.keep()

    assert changes.refused == (ACCOUNTS[0],)
    assert not keeper.owns(ACCOUNTS[0])
    assert lease_store.holder_of(ACCOUNTS[0]) is None
    assert database.fences[ACCOUNTS[0]] == 99


@pytest.mark.asyncio
async def test_a_new_grant_refuses_every_later_write_under_the_old_token(
    keeper_of: Callable[[str], LeaseKeeper], database: FakeStore, monotonic: Ticking
) -> None:
    paused, successor = keeper_of("paused"), keeper_of("successor")
    await paused.keep()
    old_token = paused.held()[ACCOUNTS[0]]
    monotonic.advance(POLICY.ttl + 1)
    await successor.keep()  # raises the fence before it works on the account

    with fence_of(Fence(ACCOUNTS[0], old_token)), pytest.raises(StaleLease):
        async with FakeUnitOfWork(database) as uow:
            await uow.commit()

    assert database.fences[ACCOUNTS[0]] == successor.held()[ACCOUNTS[0]] == 2


@pytest.mark.asyncio
async def test_accounts_that_are_gone_are_released(
    keeper_of: Callable[[str], LeaseKeeper], accounts: list[AccountId]
) -> None:
    keeper = keeper_of("one")
    await keeper.keep()
    del accounts[5:]

    changes = await keeper.keep()

    assert sorted(changes.released) == ACCOUNTS[5:]
    assert sorted(keeper.held()) == ACCOUNTS[:5]


@pytest.mark.parametrize(
    ("ttl", "renew_every", "margin"), [(6, 5, 1), (6, 6, 0), (6, 1, 6), (6, 0, 1), (6, 1, -1)]
)
def test_a_policy_must_renew_well_within_the_ttl(
    ttl: float, renew_every: float, margin: float
) -> None:
    with pytest.raises(ValueError, match="within their TTL"):
        LeasePolicy(ttl, renew_every, margin)
