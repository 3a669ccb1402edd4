"""Pending logins on SQLite and PostgreSQL: one per user and account, spent exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.ids import UserId
from order_service.domain.login import LoginState

if TYPE_CHECKING:
    from conftest import Seed

UowFactory = Callable[[], SqlUnitOfWork]
AT = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
ALICE = UserId("01JALICE000000000000000000")
pytestmark = pytest.mark.asyncio


class Spent(Exception):
    pass


async def _add(uow_factory: UowFactory, state: LoginState) -> None:
    async with uow_factory() as uow:
        await uow.login_states.add(state)
        await uow.commit()


async def _spend(uow_factory: UowFactory, state: LoginState) -> bool:
    async with uow_factory() as uow:
        try:
            await uow.login_states.spend(state, Spent())
            await uow.commit()
        except Spent:
            return False
    return True


async def test_a_state_round_trips_and_is_spent_once(uow_factory: UowFactory, seed: Seed) -> None:
    state = LoginState.issue("one", seed.account_a, ALICE, AT)
    await _add(uow_factory, state)
    async with uow_factory() as uow:
        assert await uow.login_states.get(state.state_hash) == state

    assert await _spend(uow_factory, state)
    assert not await _spend(uow_factory, state)
    async with uow_factory() as uow:
        assert await uow.login_states.get(state.state_hash) is None


async def test_two_racing_callbacks_spend_a_state_once(uow_factory: UowFactory, seed: Seed) -> None:
    state = LoginState.issue("race", seed.account_a, ALICE, AT)
    await _add(uow_factory, state)

    outcomes = await asyncio.gather(*(_spend(uow_factory, state) for _ in range(4)))

    assert sorted(outcomes) == [False, False, False, True]


async def test_a_new_login_replaces_the_users_pending_one_and_sweeps_expired(
    uow_factory: UowFactory, seed: Seed
) -> None:
    first = LoginState.issue("first", seed.account_a, ALICE, AT)
    elsewhere = LoginState.issue("b", seed.account_b, ALICE, AT)
    other_user = LoginState.issue("c", seed.account_a, UserId("01JBOB00000000000000000000"), AT)
    for state in (first, elsewhere, other_user):
        await _add(uow_factory, state)
    second = LoginState.issue("second", seed.account_a, ALICE, AT + timedelta(hours=1))
    await _add(uow_factory, second)

    async with uow_factory() as uow:
        found = [await uow.login_states.get(s.state_hash) for s in (first, elsewhere, other_user)]
        assert found == [None, None, None]  # replaced, and the other two had expired
        assert await uow.login_states.get(second.state_hash) == second
