"""The kill switch's storage on SQLite and PostgreSQL: one halt per scope, every change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from order_service.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from order_service.domain.halt import EVERYTHING, Halt, HaltKind, HaltScope
from order_service.domain.ids import UserId
from tests.integration.db.contract import AT

pytestmark = pytest.mark.asyncio

ACCOUNT = HaltScope(HaltKind.ACCOUNT, "AB1234")


@pytest.fixture
def sql_uows(uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    return uow_factory  # closed with the test (its SQLite connections too)


async def test_a_scope_is_engaged_once_and_keeps_who_engaged_it_first(
    sql_uows: SqlUnitOfWorkFactory,
) -> None:
    first = Halt(ACCOUNT, UserId("U1"), AT, by_admin=False)
    again = Halt(ACCOUNT, UserId("A1"), AT + timedelta(seconds=5), by_admin=True)
    for halt in (first, again):
        async with sql_uows() as uow:
            in_force = await uow.kill_switches.engage(halt, flatten=halt is again)
            await uow.commit()
    assert in_force == first
    async with sql_uows() as uow:
        assert await uow.kill_switches.in_force() == [first]
        events = await uow.kill_switches.events()
    assert [(e["action"], e["user_id"], e["flatten"]) for e in events] == [
        ("engaged", "U1", False),
        ("engaged", "A1", True),
    ]
    assert events[1]["occurred_at"] == AT + timedelta(seconds=5)


async def test_a_release_removes_the_halt_and_is_audited(sql_uows: SqlUnitOfWorkFactory) -> None:
    admin = Halt(EVERYTHING, UserId("A1"), AT, by_admin=True)
    async with sql_uows() as uow:
        await uow.kill_switches.engage(admin, flatten=False)
        await uow.kill_switches.engage(Halt(ACCOUNT, UserId("U1"), AT, False), flatten=False)
        await uow.commit()
    async with sql_uows() as uow:
        await uow.kill_switches.release(EVERYTHING, UserId("A2"), AT + timedelta(minutes=1))
        await uow.commit()
    async with sql_uows() as uow:
        assert await uow.kill_switches.get(EVERYTHING) is None
        assert [h.scope for h in await uow.kill_switches.in_force()] == [ACCOUNT]
        last = (await uow.kill_switches.events())[-1]
    assert (last["action"], last["user_id"], last["scope_kind"]) == ("released", "A2", "everything")
    assert last["occurred_at"] == AT + timedelta(minutes=1)


async def test_nothing_committed_is_nothing_engaged(sql_uows: SqlUnitOfWorkFactory) -> None:
    async with sql_uows() as uow:
        await uow.kill_switches.engage(Halt(ACCOUNT, UserId("U1"), AT, False), flatten=False)
    async with sql_uows() as uow:
        assert await uow.kill_switches.in_force() == []
        assert await uow.kill_switches.events() == []
