"""Fencing: a worker's commits carry its lease token; the store refuses one older than the newest.

The fake unit of work checks the fence as the SQL one does (``tests/integration/db/
test_db_fencing.py`` shows the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from order_service.adapters.coordination.leases_memory import InProcessLeaseStore
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import for_each_account, owned_workers
from order_service.entrypoints.workers.leases import LeaseWorker
from order_service.entrypoints.workers.registry import build_supervisor
from order_service.errors import BrokerUnavailable, StaleLease
from order_service.services.fencing import (
    Fence,
    current_fence,
    fence_of,
    fence_raiser,
    fenced,
    worker_ownership,
    working_for,
)
from order_service.services.leases import LeaseKeeper, LeasePolicy
from order_service.services.ownership import OwnEveryAccount
from tests.factories import make_active_account
from tests.unit.conftest import World
from tests.unit.fakes import FakeStore, FakeUnitOfWork

pytestmark = pytest.mark.asyncio
POLICY = LeasePolicy(ttl=6.0, renew_every=2.0, margin=1.0)
ONE, TWO, THREE = AccountId("AC01"), AccountId("AC02"), AccountId("AC03")


class OwnOnly:
    """An ownership of a fixed set of accounts, without leases (so without tokens)."""

    def __init__(self, *accounts: AccountId) -> None:
        self.accounts = set(accounts)

    def owns(self, account_id: AccountId) -> bool:
        return account_id in self.accounts


def keeper(database: FakeStore, *accounts: AccountId, holder: str = "me") -> LeaseKeeper:
    async def candidates() -> list[AccountId]:
        return list(accounts)

    raise_fence = fence_raiser(lambda: FakeUnitOfWork(database))
    return LeaseKeeper(InProcessLeaseStore(), holder, candidates, raise_fence, POLICY)


async def add_account(database: FakeStore, account_id: AccountId) -> None:
    async with FakeUnitOfWork(database) as uow:
        await uow.accounts.add(make_active_account(account_id=account_id))
        await uow.commit()


async def test_a_commit_under_an_older_token_than_the_newest_is_refused_and_rolled_back() -> None:
    database = FakeStore()
    with fence_of(Fence(ONE, 7)):
        async with FakeUnitOfWork(database) as uow:
            await uow.commit()

    with fence_of(Fence(ONE, 6)):
        async with FakeUnitOfWork(database) as uow:
            await uow.accounts.add(make_active_account(account_id=ONE))
            with pytest.raises(StaleLease) as refused:
                await uow.commit()

    assert refused.value.details == {"account_id": ONE, "token": 6}
    assert database.accounts == {}  # nothing of the refused unit of work was kept
    assert database.fences == {ONE: 7}


async def test_the_same_or_a_newer_token_commits_and_raises_the_fence() -> None:
    database = FakeStore()
    for token in (3, 3, 5):
        with fence_of(Fence(ONE, token)):
            async with FakeUnitOfWork(database) as uow:
                await uow.commit()

    assert database.fences == {ONE: 5}


async def test_fences_are_per_account_and_commits_outside_a_fence_are_never_checked() -> None:
    database = FakeStore()
    with fence_of(Fence(ONE, 9)):
        async with FakeUnitOfWork(database) as uow:
            await uow.commit()

    with fence_of(Fence(TWO, 1)):
        async with FakeUnitOfWork(database) as uow:
            await uow.commit()
    await add_account(database, ONE)  # an API request: no fence, whatever the account

    assert database.fences == {ONE: 9, TWO: 1}
    assert ONE in database.accounts


async def test_fenced_carries_the_keepers_token_and_marks_the_account_at_work() -> None:
    database = FakeStore()
    mine = keeper(database, ONE)
    await mine.keep()

    with fenced(mine, ONE):
        assert current_fence() == Fence(ONE, 1)
        shed = await mine.release_all()  # an account at work is not given up
    assert current_fence() is None
    assert shed.released == ()
    assert mine.owns(ONE)


async def test_fenced_refuses_an_account_this_process_does_not_own() -> None:
    mine = keeper(FakeStore(), ONE)

    with pytest.raises(StaleLease), fenced(mine, ONE):
        pytest.fail("the block must not run")


async def test_an_ownership_without_leases_runs_unfenced() -> None:
    with fenced(OwnEveryAccount(), ONE):
        assert current_fence() is None


async def test_fences_of_concurrent_tasks_stay_apart() -> None:
    seen: dict[AccountId, Fence | None] = {}

    async def work(account_id: AccountId, token: int) -> None:
        with fence_of(Fence(account_id, token)):
            await asyncio.sleep(0)
            seen[account_id] = current_fence()

    await asyncio.gather(work(ONE, 1), work(TWO, 2))

    assert seen == {ONE: Fence(ONE, 1), TWO: Fence(TWO, 2)}


async def test_the_fan_out_works_only_on_owned_accounts_each_under_its_fence() -> None:
    database = FakeStore()
    mine = keeper(database, ONE, TWO)
    await mine.keep()
    fences: dict[AccountId, Fence | None] = {}

    async def sync(account_id: AccountId) -> None:
        fences[account_id] = current_fence()

    with working_for(mine):
        await for_each_account("test sync", [ONE, TWO, THREE], sync, lambda _, __: None)

    assert fences == {ONE: Fence(ONE, 1), TWO: Fence(TWO, 1)}


async def test_a_stale_pass_is_one_accounts_failure_and_the_others_go_on() -> None:
    database = FakeStore()
    mine = keeper(database, ONE, TWO)
    await mine.keep()
    database.fences[ONE] = 2  # another process took ONE over meanwhile
    observed: list[AccountId] = []

    async def sync(account_id: AccountId) -> None:
        async with FakeUnitOfWork(database) as uow:
            await uow.commit()

    with working_for(mine):
        await for_each_account("test sync", [ONE, TWO], sync, lambda a, _: observed.append(a))

    assert observed == [TWO]


async def test_outside_any_worker_every_account_is_this_processs() -> None:
    assert worker_ownership().owns(ONE)
    with working_for(OwnOnly(TWO)):
        assert not worker_ownership().owns(ONE)


async def test_an_owned_worker_runs_its_passes_under_the_ownership() -> None:
    ownership = OwnOnly(ONE)
    seen: list[bool] = []

    class Probe:
        name = "probe"
        interval = 1.0

        async def run_once(self) -> None:
            seen.append(worker_ownership() is ownership)

        async def close(self) -> None:
            seen.append(False)

    worker = owned_workers({"probe": Probe}, ownership)["probe"]()
    await worker.run_once()
    worker.interval = 3.0
    await worker.close()  # type: ignore[attr-defined]

    assert seen == [True, False]
    assert (worker.name, worker.interval) == ("probe", 3.0)


async def test_the_lease_worker_publishes_what_each_round_changed() -> None:
    database = FakeStore()
    mine = keeper(database, ONE, TWO, holder="metrics")
    before = {
        change: REGISTRY.get_sample_value("order_service_lease_changes_total", {"change": change})
        or 0.0
        for change in ("acquired", "released", "lost", "refused")
    }
    database.fences[TWO] = 50  # its grant (token 1) is below the fence: refused

    await LeaseWorker(mine).run_once()
    assert REGISTRY.get_sample_value("order_service_leases_held") == 1
    await mine.release_all()
    await LeaseWorker(mine).run_once()  # takes ONE again

    def delta(change: str) -> float:
        value = REGISTRY.get_sample_value("order_service_lease_changes_total", {"change": change})
        return (value or 0.0) - before[change]

    assert (delta("acquired"), delta("refused"), delta("lost")) == (2, 2, 0)
    assert REGISTRY.get_sample_value("order_service_leases_held") == 1


async def test_a_worker_process_with_leases_runs_the_keeper_under_the_supervisor(
    world: World,
) -> None:
    mine = keeper(world.store, ONE)
    services = replace(world.services, ownership=mine, leases=mine)

    supervisor = build_supervisor(services)

    assert "leases" in supervisor.status()
    assert "leases" not in build_supervisor(world.services).status()


async def test_the_fan_out_still_raises_an_unreachable_broker_once_all_are_done() -> None:
    done: list[AccountId] = []

    async def sync(account_id: AccountId) -> None:
        if account_id == ONE:
            raise BrokerUnavailable("down")
        done.append(account_id)

    with pytest.raises(BrokerUnavailable):
        await for_each_account("test sync", [ONE, TWO], sync, lambda _, __: None)
    assert done == [TWO]
