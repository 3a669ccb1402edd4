"""Control modes are read with the account and strategy rows, and written by nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.tables import accounts, strategies
from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.control import ControlMode
from tests.integration.db.conftest import Seed

pytestmark = pytest.mark.asyncio
UowFactory = Callable[[], SqlUnitOfWork]


async def test_an_account_starts_manual_and_its_strategies_without_a_mode_of_their_own(
    uow_factory: UowFactory, seed: Seed
) -> None:
    async with uow_factory() as uow:
        account = await uow.accounts.get(seed.account_a)
        momentum = await uow.strategies.get(seed.momentum_a)

    assert account is not None
    assert account.control_mode is ControlMode.MANUAL
    assert momentum is not None
    assert momentum.control_mode is None


async def test_saving_an_account_or_a_strategy_keeps_the_mode_a_handoff_wrote(
    uow_factory: UowFactory, engine: AsyncEngine, seed: Seed
) -> None:
    async with uow_factory() as uow:  # read before the handoff writes, saved after
        account = await uow.accounts.get(seed.account_a)
        momentum = await uow.strategies.get(seed.momentum_a)
    assert account is not None
    assert momentum is not None
    async with engine.begin() as connection:
        await connection.execute(update(accounts).values(control_mode="transitioning"))
        await connection.execute(update(strategies).values(control_mode="manual"))

    async with uow_factory() as uow:
        account.require_login()
        await uow.accounts.save(account)
        await uow.strategies.save(momentum.renamed("renamed"))
        await uow.commit()
    async with uow_factory() as uow:
        stored_account = await uow.accounts.get(seed.account_a)
        stored = await uow.strategies.get(seed.momentum_a)

    assert stored_account is not None
    assert stored_account.control_mode is ControlMode.TRANSITIONING
    assert stored is not None
    assert (stored.name, stored.control_mode) == (
        "renamed",
        ControlMode.MANUAL,
    )
