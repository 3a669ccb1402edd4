"""Helpers of the repository contract suite: work done in one unit of work, over any backend.

The suite (``test_repository_contract*.py``) runs on ``any_uow_factory`` from the conftest:
the unit tests' fake, SQLite and PostgreSQL. The SQL behaviour is the contract and the fake
follows it, so what a unit test learns from the fake holds against a database. A refused
write may surface at the write or at the commit (SQLite holds writes back until then), so
the tests accept either: they wrap both in ``write``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from order_service.domain.events import OrderEvent
from order_service.domain.ids import OrderId
from order_service.domain.order import Order
from order_service.services.ports import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
Work = Callable[[UnitOfWork], Awaitable[Any]]
AT = datetime(2026, 1, 5, 9, 16, tzinfo=UTC)


async def write(uow_factory: UowFactory, *work: Work) -> None:
    """Do ``work`` in one unit of work and commit it."""
    async with uow_factory() as uow:
        for step in work:
            await step(uow)
        await uow.commit()


async def read(uow_factory: UowFactory, work: Work) -> Any:
    """Return what ``work`` returns, read in a unit of work of its own."""
    async with uow_factory() as uow:
        return await work(uow)


async def add_orders(uow_factory: UowFactory, *orders: Order) -> None:
    await write(uow_factory, *(_adding(order) for order in orders))


def _adding(order: Order) -> Work:
    return lambda uow: uow.orders.add(order)


async def get_order(uow_factory: UowFactory, order_id: OrderId) -> Order:
    order: Order | None = await read(uow_factory, lambda uow: uow.orders.get(order_id))
    assert order is not None
    return order


async def event_log(uow_factory: UowFactory, order_id: OrderId) -> list[OrderEvent]:
    events: list[OrderEvent] = await read(uow_factory, lambda uow: uow.orders.events(order_id))
    return events


def scrambled(items: list[Order]) -> list[Order]:
    """Return the items out of their id order, so no store can pass by insertion order."""
    return items[1::2] + items[0::2][::-1]
