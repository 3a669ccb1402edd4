"""The SQL unit of work checks a worker's fence in its commit's transaction, on both engines."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.tables import lease_fences
from order_service.domain.account import Account
from order_service.errors import StaleLease
from order_service.services.fencing import Fence, fence_of, fence_raiser
from tests.integration.db.conftest import ACCOUNT_A, ACCOUNT_B, Seed, UowFactory, build_account

pytestmark = pytest.mark.asyncio


def refused_so_far() -> float:
    return REGISTRY.get_sample_value("order_service_stale_writes_refused_total") or 0.0


async def renamed(uow_factory: UowFactory, name: str) -> None:
    async with uow_factory() as uow:
        account = await uow.accounts.get(ACCOUNT_A)
        assert account is not None
        account.name = name
        await uow.accounts.save(account)
        await uow.commit()


async def stored(uow_factory: UowFactory) -> Account:
    async with uow_factory() as uow:
        account = await uow.accounts.get(ACCOUNT_A)
    assert account is not None
    return account


async def fences(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(lease_fences))).mappings().all()
    return {row["account_id"]: row["token"] for row in rows}


async def test_a_write_under_a_token_older_than_the_newest_is_refused_and_rolled_back(
    uow_factory: UowFactory, engine: AsyncEngine, seed: Seed
) -> None:
    await fence_raiser(uow_factory)(ACCOUNT_A, 2)  # a newer owner took the account over
    before = refused_so_far()

    with fence_of(Fence(ACCOUNT_A, 1)), pytest.raises(StaleLease):
        await renamed(uow_factory, "written by the paused worker")

    assert (await stored(uow_factory)).name == build_account().name
    assert await fences(engine) == {ACCOUNT_A: 2}
    assert refused_so_far() == before + 1


async def test_the_newest_token_writes_and_raises_the_fence(
    uow_factory: UowFactory, engine: AsyncEngine, seed: Seed
) -> None:
    with fence_of(Fence(ACCOUNT_A, 3)):
        await renamed(uow_factory, "first owner")
    with fence_of(Fence(ACCOUNT_A, 3)):
        await renamed(uow_factory, "first owner again")
    with fence_of(Fence(ACCOUNT_A, 4)):
        await renamed(uow_factory, "next owner")

    assert (await stored(uow_factory)).name == "next owner"
    assert await fences(engine) == {ACCOUNT_A: 4}


async def test_fences_are_per_account_and_unfenced_writes_are_not_checked(
    uow_factory: UowFactory, engine: AsyncEngine, seed: Seed
) -> None:
    await fence_raiser(uow_factory)(ACCOUNT_A, 9)
    await fence_raiser(uow_factory)(ACCOUNT_B, 1)

    await renamed(uow_factory, "an API request")  # no fence: placements are never fenced

    assert (await stored(uow_factory)).name == "an API request"
    assert await fences(engine) == {ACCOUNT_A: 9, ACCOUNT_B: 1}


async def test_a_fence_raise_below_the_fence_is_refused(
    uow_factory: UowFactory, engine: AsyncEngine, seed: Seed
) -> None:
    await fence_raiser(uow_factory)(ACCOUNT_A, 5)

    with pytest.raises(StaleLease):
        await fence_raiser(uow_factory)(ACCOUNT_A, 4)
    assert await fences(engine) == {ACCOUNT_A: 5}
