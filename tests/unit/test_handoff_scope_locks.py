"""Handoff requests under shared scope locks (Redis's, in production; the in-process lease
store here, which keeps the same contract): a lock another request holds refuses at once, a
request whose lock was taken again since cannot write, and the lock is given back."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from order_service.adapters.coordination.leases_memory import InProcessLeaseStore
from order_service.adapters.coordination.scope_locks_redis import RedisScopeLocks
from order_service.domain.account import Principal
from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId
from order_service.errors import NotFound, OwnershipConflict, ServiceUnavailableError
from order_service.services.handoffs import HandoffRequest, HandoffService
from tests.unit.conftest import ACCOUNT, World

pytestmark = pytest.mark.asyncio
TO_SCRIPT = HandoffRequest(ACCOUNT, None, "to_script")


def with_locks(world: World, locks: InProcessLeaseStore) -> HandoffService:
    return HandoffService(
        lambda: world.services.accounts._uow(),
        world.services.amendments,
        world.clock,
        300.0,
        locks,
    )


async def test_a_scope_locked_by_another_request_is_refused_and_nothing_changes(
    world: World,
) -> None:
    locks = InProcessLeaseStore()
    assert await locks.acquire(ACCOUNT, "another request", 10.0) is not None

    with pytest.raises(OwnershipConflict, match="another handoff of this scope"):
        await with_locks(world, locks).request(world.trader, TO_SCRIPT)

    assert world.store.handoffs == {}
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL


async def test_a_request_whose_lock_was_taken_again_since_cannot_write(world: World) -> None:
    locks = InProcessLeaseStore()
    world.store.scope_fences[ACCOUNT] = 1_000  # a later holder's token, written already

    with pytest.raises(OwnershipConflict, match="lock expired") as refused:
        await with_locks(world, locks).request(world.trader, TO_SCRIPT)

    assert refused.value.details["lock_token"] < 1_000
    assert world.store.handoffs == {}
    assert world.store.accounts[ACCOUNT].control_mode is ControlMode.MANUAL
    assert locks.holder_of(ACCOUNT) is None  # given back, refused or not


async def test_a_request_writes_its_token_and_gives_the_lock_back(world: World) -> None:
    locks = InProcessLeaseStore()

    handoff = await with_locks(world, locks).request(world.trader, TO_SCRIPT)

    assert world.store.handoffs[handoff.handoff_id].target_mode is ControlMode.SCRIPT
    assert world.store.scope_fences[ACCOUNT] >= 1
    assert locks.holder_of(ACCOUNT) is None
    written = world.store.scope_fences[ACCOUNT]
    next_token = await locks.acquire(ACCOUNT, "the next request", 10.0)
    assert next_token is not None
    assert next_token > written


class Counting(InProcessLeaseStore):
    """The in-process store, counting the locks asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        self.asked += 1
        return await super().acquire(account_id, holder, ttl)


async def test_a_stranger_takes_no_lock_and_holds_up_no_owner(
    world: World, outsider: Principal
) -> None:
    locks = Counting()
    service = with_locks(world, locks)

    for _ in range(3):
        with pytest.raises(NotFound):
            await service.request(outsider, TO_SCRIPT)
    with pytest.raises(NotFound):
        await service.request(outsider, HandoffRequest(AccountId("NOSUCH"), None, "to_script"))

    assert locks.asked == 0
    handoff = await service.request(world.trader, TO_SCRIPT)
    assert handoff.target_mode is ControlMode.SCRIPT
    assert locks.asked == 1


async def test_a_lock_that_cannot_be_given_back_leaves_the_accepted_handoff_accepted(
    world: World,
) -> None:
    unreachable = RedisScopeLocks("redis://127.0.0.1:1/0")  # nothing listens there
    before = REGISTRY.get_sample_value(
        "order_service_errors_total", {"code": "SERVICE_UNAVAILABLE"}
    )

    await unreachable.release(ACCOUNT, "a request", 7)  # does not raise

    after = REGISTRY.get_sample_value("order_service_errors_total", {"code": "SERVICE_UNAVAILABLE"})
    assert (after or 0) == (before or 0) + 1
    with pytest.raises(ServiceUnavailableError):  # taking one fails closed
        await unreachable.acquire(ACCOUNT, "a request", 10.0)
    await unreachable.close()
