"""Handoffs on SQLite and PostgreSQL, through the API, with the database's row locks alone and
with Redis's scope locks in front of them (when Redis is set): of fifty concurrent requests for
one scope, or for overlapping scopes, exactly one wins; the modes and the events agree; and a
handoff left behind by a dead process is finished by the worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.coordination.scope_locks_redis import RedisScopeLocks
from order_service.adapters.db.tables import account_events, handoffs
from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings
from order_service.domain.account import Principal, Role
from order_service.domain.control import ControlMode, ControlTrigger
from order_service.domain.handoff import Handoff, HandoffId, HandoffStatus
from order_service.domain.ids import AccountId, UserId
from order_service.entrypoints.api.app import create_app
from order_service.entrypoints.workers.handoffs import HandoffWorker
from order_service.errors import Conflict, OwnershipConflict
from order_service.services.handoffs import HandoffRequest, HandoffService
from tests.conftest import REDIS_URL
from tests.integration.db.conftest import NOW, Seed, UowFactory
from tests.unit.conftest import api_client
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.asyncio
RACERS = 50


@dataclass
class Plant:
    services: Services
    api: httpx.AsyncClient
    admin: Principal
    clock: FakeClock


@pytest_asyncio.fixture(params=["database", "redis"])
async def plant(
    request: pytest.FixtureRequest, settings: Settings, uow_factory: UowFactory, seed: Seed
) -> AsyncIterator[Plant]:
    """The service over the database, its scope locks the database's row locks alone, or
    also Redis's (with fencing tokens) when Redis is configured."""
    async for planted in _planted(settings, uow_factory, redis=request.param == "redis"):
        yield planted


@pytest_asyncio.fixture
async def redis_plant(
    settings: Settings, uow_factory: UowFactory, seed: Seed
) -> AsyncIterator[Plant]:
    """The service with Redis's scope locks in front of the database's."""
    async for planted in _planted(settings, uow_factory, redis=True):
        yield planted


async def _planted(
    settings: Settings, uow_factory: UowFactory, *, redis: bool
) -> AsyncIterator[Plant]:
    if redis:
        if REDIS_URL is None:
            pytest.skip("ORDER_SERVICE_TEST_REDIS_URL is not set")
        settings = settings.model_copy(update={"redis_url": REDIS_URL})
    clock = FakeClock(NOW)
    services = bootstrap(settings, uow_factory=uow_factory, broker=FakeBroker(clock), clock=clock)
    admin = await services.users.create_user("ops", frozenset({Role.ADMIN}))
    key = await services.users.create_api_key(admin.user_id)
    try:
        async with api_client(create_app(services), key) as api:
            yield Plant(services, api, await services.users.get_user(admin.user_id), clock)
    finally:
        await services.handoffs.close()


async def modes(uow_factory: UowFactory, seed: Seed) -> tuple[ControlMode, ControlMode | None]:
    async with uow_factory() as uow:
        account = await uow.accounts.get(seed.account_a)
        momentum = await uow.strategies.get(seed.momentum_a)
    assert account is not None
    assert momentum is not None
    return account.control_mode, momentum.control_mode


async def counts(engine: AsyncEngine) -> tuple[int, dict[str, int]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(func.count()).select_from(handoffs))).scalar_one()
        names = await connection.execute(
            select(account_events.c.name, func.count()).group_by(account_events.c.name)
        )
        return rows, {name: n for name, n in names.all()}


async def race(api: httpx.AsyncClient, asks: list[dict[str, Any]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(api.post("/api/v1/handoffs", json=a) for a in asks)))


def one_winner(answers: list[httpx.Response]) -> dict[str, Any]:
    assert sorted(a.status_code for a in answers) == [202] + [409] * (len(answers) - 1)
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "OWNERSHIP_CONFLICT"
    won: dict[str, Any] = next(a.json() for a in answers if a.status_code == 202)
    return won


async def test_fifty_concurrent_handoffs_of_one_scope_have_one_winner(
    plant: Plant, seed: Seed, uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    asked = {"account_id": seed.account_a, "trigger": "to_script"}

    won = one_winner(await race(plant.api, [asked] * RACERS))
    assert await modes(uow_factory, seed) == (ControlMode.TRANSITIONING, None)
    await HandoffWorker(plant.services).run_once()

    shown = (await plant.api.get(f"/api/v1/handoffs/{won['handoff_id']}")).json()
    assert shown["status"] == "COMPLETED"
    assert await modes(uow_factory, seed) == (ControlMode.SCRIPT, None)
    assert await counts(engine) == (1, {"HandoffRequested": 1, "HandoffCompleted": 1})


async def test_fifty_concurrent_handoffs_of_overlapping_scopes_have_one_winner(
    plant: Plant, seed: Seed, uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    account = {"account_id": seed.account_a, "trigger": "to_script"}
    strategy = {
        "account_id": seed.account_a,
        "strategy_id": seed.momentum_a,
        "trigger": "to_manual",
    }
    asks = [account if n % 2 else strategy for n in range(RACERS)]

    won = one_winner(await race(plant.api, asks))
    await HandoffWorker(plant.services).run_once()

    final = await modes(uow_factory, seed)
    if won["strategy_id"] is None:
        assert final == (ControlMode.SCRIPT, None)
    else:
        assert final == (ControlMode.MANUAL, ControlMode.MANUAL)
    assert await counts(engine) == (1, {"HandoffRequested": 1, "HandoffCompleted": 1})


async def test_a_second_unfinished_handoff_of_a_scope_is_refused_by_the_store(
    uow_factory: UowFactory, seed: Seed
) -> None:
    def unfinished(handoff_id: str) -> Handoff:
        return Handoff(
            HandoffId(handoff_id), seed.account_a, None, ControlTrigger.TO_SCRIPT,
            ControlMode.MANUAL, ControlMode.SCRIPT, HandoffStatus.PENDING, False,
            UserId("u"), NOW, NOW, NOW,
        )  # fmt: skip

    async def store(handoff: Handoff) -> None:
        async with uow_factory() as uow:
            await uow.handoffs.add(handoff)
            await uow.commit()

    await store(unfinished("01JFIRST000000000000000000"))
    with pytest.raises(Conflict):
        await store(unfinished("01JSECOND00000000000000000"))


async def test_a_handoff_left_by_a_dead_process_is_finished_by_the_worker(
    plant: Plant, seed: Seed, uow_factory: UowFactory
) -> None:
    left = Handoff(
        HandoffId("01JLEFTBEHIND0000000000000"), seed.account_a, seed.momentum_a,
        ControlTrigger.TO_MANUAL, ControlMode.SCRIPT, ControlMode.MANUAL,
        HandoffStatus.CANCELLING, False, UserId("u"), NOW, NOW, NOW,
    )  # fmt: skip
    async with uow_factory() as uow:
        await uow.handoffs.add(left)
        await uow.control_modes.set_strategy_mode(seed.momentum_a, ControlMode.TRANSITIONING)
        await uow.commit()

    await HandoffWorker(plant.services).run_once()

    async with uow_factory() as uow:
        stored = await uow.handoffs.get(left.handoff_id)
    assert stored is not None
    assert stored.status is HandoffStatus.COMPLETED
    assert [step.name for step in stored.steps] == ["HandoffCompleted"]
    assert await modes(uow_factory, seed) == (ControlMode.MANUAL, ControlMode.MANUAL)


class PausedPastItsLock:
    """Redis's scope locks, for a request that is paused once it holds its lock: the lock
    (granted for 50 ms) expires, and ``meanwhile`` runs before the request goes on."""

    def __init__(self, meanwhile: Callable[[], Awaitable[None]]) -> None:
        assert REDIS_URL is not None
        self._locks = RedisScopeLocks(REDIS_URL)
        self._meanwhile = meanwhile

    async def acquire(self, account_id: AccountId, holder: str, ttl: float) -> int | None:
        token = await self._locks.acquire(account_id, holder, 0.05)
        await asyncio.sleep(0.1)  # Redis's own clock expires the lock meanwhile
        await self._meanwhile()
        return token

    async def release(self, account_id: AccountId, holder: str, token: int) -> None:
        await self._locks.release(account_id, holder, token)

    async def close(self) -> None:
        await self._locks.close()


async def test_a_request_paused_past_its_redis_lock_cannot_write_after_the_next(
    redis_plant: Plant, seed: Seed, uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    plant = redis_plant

    async def the_next_request_hands_over() -> None:
        ask = {"account_id": seed.account_a, "trigger": "to_script"}
        assert (await plant.api.post("/api/v1/handoffs", json=ask)).status_code == 202
        await HandoffWorker(plant.services).run_once()

    paused = HandoffService(
        uow_factory, plant.services.amendments, plant.clock, 300.0,
        PausedPastItsLock(the_next_request_hands_over),
    )  # fmt: skip
    try:
        with pytest.raises(OwnershipConflict, match="lock expired"):
            await paused.request(plant.admin, HandoffRequest(seed.account_a, None, "to_manual"))
    finally:
        await paused.close()

    assert await modes(uow_factory, seed) == (ControlMode.SCRIPT, None)
    assert await counts(engine) == (1, {"HandoffRequested": 1, "HandoffCompleted": 1})
