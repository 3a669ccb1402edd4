"""A unit of work keeps what it commits and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.account import Account
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import Conflict
from order_service.services.ports import UnitOfWork
from order_service.services.writes import OrderWriter
from tests.unit.fakes import FakeClock

UowFactory = Callable[[], SqlUnitOfWork]
LATER = datetime(2026, 1, 5, 9, 16, tzinfo=UTC)


async def _account_exists(uow_factory: UowFactory, account_id: AccountId) -> bool:
    async with uow_factory() as uow:
        return await uow.accounts.get(account_id) is not None


@pytest.mark.asyncio
async def test_committed_work_is_kept(
    uow_factory: UowFactory, make_account: Callable[..., Account]
) -> None:
    async with uow_factory() as uow:
        await uow.accounts.add(make_account())
        await uow.commit()

    assert await _account_exists(uow_factory, make_account().account_id)


@pytest.mark.asyncio
async def test_work_left_uncommitted_is_rolled_back(
    uow_factory: UowFactory, make_account: Callable[..., Account]
) -> None:
    async with uow_factory() as uow:
        await uow.accounts.add(make_account())

    assert not await _account_exists(uow_factory, make_account().account_id)


@pytest.mark.asyncio
async def test_an_error_inside_rolls_back_and_propagates(
    uow_factory: UowFactory, make_account: Callable[..., Account]
) -> None:
    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.accounts.add(make_account())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()

    assert not await _account_exists(uow_factory, make_account().account_id)


@pytest.mark.asyncio
async def test_an_explicit_rollback_discards_and_the_unit_can_go_on(
    uow_factory: UowFactory, make_account: Callable[..., Account]
) -> None:
    first, second = make_account(), make_account(account_id=AccountId("ZZ9999"))
    async with uow_factory() as uow:
        await uow.accounts.add(first)
        await uow.rollback()
        await uow.accounts.add(second)
        await uow.commit()

    assert not await _account_exists(uow_factory, first.account_id)
    assert await _account_exists(uow_factory, second.account_id)


@pytest.mark.asyncio
async def test_a_conflicting_insert_is_a_conflict(
    uow_factory: UowFactory, make_account: Callable[..., Account]
) -> None:
    async with uow_factory() as uow:
        await uow.accounts.add(make_account())
        await uow.commit()

    async def add_again() -> None:
        async with uow_factory() as uow:
            await uow.accounts.add(make_account())
            await uow.commit()

    with pytest.raises(Conflict):
        await add_again()


@pytest.mark.asyncio
@pytest.mark.usefixtures("seed")
async def test_the_order_writer_retries_a_stale_write_on_a_fresh_copy(
    uow_factory: UowFactory, make_order: Callable[..., Order], store: Callable[..., object]
) -> None:
    order = make_order()
    await store(order)  # type: ignore[misc]
    stale = make_order(order_id=order.order_id)  # read before the write below
    factory: Callable[[], UnitOfWork] = uow_factory
    clock = FakeClock(LATER)
    writer = OrderWriter(factory, clock)
    await writer.update(order, lambda o: o.move(OrderTrigger.SUBMIT, clock.now()))

    saved = await writer.update(stale, lambda o: o.record("OrderNoted", clock.now()))

    assert saved.version == 2
    assert saved.status is OrderStatus.SUBMITTING
    async with uow_factory() as uow:
        names = [event.name for event in await uow.orders.events(order.order_id)]
    assert names == ["OrderSubmitted", "OrderNoted"]
