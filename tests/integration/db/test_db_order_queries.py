"""Listing orders: cursor pages newest first, every filter, and the unsettled orders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.account import AccountScope
from order_service.domain.ids import AccountId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.services.ports import OrderQuery

if TYPE_CHECKING:
    from conftest import Seed

UowFactory = Callable[[], SqlUnitOfWork]
MakeOrder = Callable[..., Order]
Store = Callable[..., Awaitable[None]]
NON_TERMINAL = {
    OrderStatus.NEW,
    OrderStatus.SUBMITTING,
    OrderStatus.UNKNOWN,
    OrderStatus.PENDING,
    OrderStatus.OPEN,
    OrderStatus.TRIGGER_PENDING,
    OrderStatus.MODIFY_PENDING,
    OrderStatus.CANCEL_PENDING,
}


async def _list(uow_factory: UowFactory, **query: Any) -> list[Order]:
    ids = query.pop("account_ids", None)
    scope = query.pop("scope", AccountScope(None if ids is None else frozenset(ids)))
    async with uow_factory() as uow:
        return await uow.orders.list(OrderQuery(scope, **query))


@pytest.mark.asyncio
async def test_pages_run_newest_first_and_continue_after_the_last_id(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store, seed: Seed
) -> None:
    orders = [make_order() for _ in range(5)]  # order ids grow with creation time
    await store(*orders)
    newest_first = [order.order_id for order in reversed(orders)]

    pages, after = [], None
    for _ in range(4):
        page = await _list(
            uow_factory, scope=AccountScope(frozenset({seed.account_a})), after=after, limit=2
        )
        pages.append([order.order_id for order in page])
        after = page[-1].order_id if page else None

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5], []]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"account_ids": None}, ["b1", "a2", "a1"]),
        ({"account_ids": {"A"}}, ["a2", "a1"]),
        ({"account_ids": set()}, []),
        ({"account_ids": {"A", "B"}, "account_id": "B"}, ["b1"]),
        ({"account_ids": {"A"}, "account_id": "B"}, []),  # a filter never widens the scope
        ({"status": OrderStatus.OPEN}, ["b1", "a2"]),
        ({"strategy_id": "momentum_a"}, ["a2"]),
        ({"account_id": "A", "status": OrderStatus.NEW}, ["a1"]),
    ],
)
async def test_each_filter_narrows_the_list(
    uow_factory: UowFactory,
    make_order: MakeOrder,
    store: Store,
    seed: Seed,
    query: dict[str, Any],
    expected: list[str],
) -> None:
    accounts = {"A": seed.account_a, "B": seed.account_b}
    named = {
        "a1": make_order(),
        "a2": make_order(strategy_id=seed.momentum_a, status=OrderStatus.OPEN),
        "b1": make_order(account_id=seed.account_b, status=OrderStatus.OPEN),
    }
    await store(*named.values())
    resolved = dict(query)
    if resolved.get("account_ids") is not None:
        resolved["account_ids"] = frozenset(accounts[name] for name in resolved["account_ids"])
    if "account_id" in resolved:
        resolved["account_id"] = accounts[resolved["account_id"]]
    if "strategy_id" in resolved:
        resolved["strategy_id"] = seed.momentum_a

    found = await _list(uow_factory, **resolved)

    names = {order.order_id: name for name, order in named.items()}
    assert [names[order.order_id] for order in found] == expected


@pytest.mark.asyncio
async def test_unsettled_orders_are_those_not_in_a_terminal_state(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store, seed: Seed
) -> None:
    await store(*(make_order(status=status) for status in OrderStatus))
    await store(make_order(account_id=seed.account_b, status=OrderStatus.OPEN))

    async with uow_factory() as uow:
        unsettled = await uow.orders.list_unsettled(seed.account_a)

    assert {order.status for order in unsettled} == NON_TERMINAL
    assert {order.account_id for order in unsettled} == {seed.account_a}
    assert len(unsettled) == len(NON_TERMINAL)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status_b", "expected"),
    [(OrderStatus.UNKNOWN, ["A", "B"]), (OrderStatus.COMPLETE, ["A"])],
)
async def test_accounts_with_unsettled_orders_are_listed_once(
    uow_factory: UowFactory,
    make_order: MakeOrder,
    store: Store,
    seed: Seed,
    status_b: OrderStatus,
    expected: list[str],
) -> None:
    await store(
        make_order(status=OrderStatus.OPEN),
        make_order(status=OrderStatus.SUBMITTING),
        make_order(account_id=seed.account_b, status=status_b),
    )
    accounts = {"A": seed.account_a, "B": seed.account_b}

    async with uow_factory() as uow:
        found = await uow.orders.accounts_with_unsettled()

    assert found == [accounts[name] for name in expected]


@pytest.mark.asyncio
@pytest.mark.usefixtures("seed")
async def test_no_orders_means_no_accounts_to_settle(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.orders.accounts_with_unsettled() == []
        assert await uow.orders.list_unsettled(AccountId("AB1234")) == []
