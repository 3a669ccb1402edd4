"""The watch behind ``order-service orders watch``: orders listed, then kept by the feed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.cli_watch import WatchFilter, watch_orders
from order_service.errors import NotFound
from tests.integration.events.conftest import Stack
from tests.unit.answers import LIMIT
from tests.unit.conftest import ACCOUNT, OTHER_ACCOUNT

pytestmark = pytest.mark.asyncio
Shown = list[dict[OrderId, OrderStatus]]


async def place(stack: Stack, key: str | None = None, **overrides: Any) -> OrderId:
    async with stack.client(key) as client:
        response = await client.post("/api/v1/orders", json={**LIMIT, **overrides})
    assert response.status_code in (201, 202), response.text
    return OrderId(response.json()["order_id"])


async def cancel(stack: Stack, order_id: OrderId) -> None:
    async with stack.client() as client:
        assert (await client.delete(f"/api/v1/orders/{order_id}")).status_code == 200


def recorder(shown: Shown) -> Callable[[list[Order]], None]:
    return lambda orders: shown.append({o.order_id: o.status for o in orders})


def waits(*steps: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """A wait that, instead of sleeping, does the next step (what others commit meanwhile)."""
    pending = list(steps)

    async def wait() -> None:
        if pending:
            await pending.pop(0)()

    return wait


async def test_the_table_shows_each_new_status_and_each_new_order(stack: Stack) -> None:
    first = await place(stack)
    placed: list[OrderId] = []

    async def place_another() -> None:
        placed.append(await place(stack))

    shown: Shown = []
    wait = waits(lambda: cancel(stack, first), place_another)
    await watch_orders(stack.services, stack.trader, WatchFilter(), recorder(shown), wait, 3)
    assert shown[0] == {first: OrderStatus.PENDING}
    assert shown[1] == {first: OrderStatus.CANCELLED}
    assert shown[2] == {placed[0]: OrderStatus.PENDING, first: OrderStatus.CANCELLED}
    assert list(shown[2]) == [placed[0], first]  # newest first
    assert len(shown) == 3  # the third, quiet read of the feed changed nothing: not redrawn


async def test_an_order_leaves_the_table_when_it_leaves_the_statuses_watched(
    stack: Stack,
) -> None:
    first, second = await place(stack), await place(stack)
    shown: Shown = []
    working = WatchFilter(statuses=frozenset({OrderStatus.PENDING}))
    await watch_orders(
        stack.services,
        stack.trader,
        working,
        recorder(shown),
        waits(lambda: cancel(stack, first)),
        1,
    )
    assert shown == [
        {second: OrderStatus.PENDING, first: OrderStatus.PENDING},
        {second: OrderStatus.PENDING},
    ]


async def test_another_users_orders_and_accounts_stay_out(stack: Stack) -> None:
    mine = await place(stack)
    theirs: list[OrderId] = []

    async def outsider_places() -> None:
        theirs.append(await place(stack, stack.outsider_key, account_id=OTHER_ACCOUNT))

    shown: Shown = []
    wait = waits(outsider_places)
    board = await watch_orders(
        stack.services, stack.trader, WatchFilter(), recorder(shown), wait, 1
    )
    assert shown == [{mine: OrderStatus.PENDING}]
    assert len(theirs) == 1
    assert theirs[0] not in board.orders
    with pytest.raises(NotFound):
        await watch_orders(
            stack.services,
            stack.trader,
            WatchFilter(account_id=AccountId(OTHER_ACCOUNT)),
            recorder([]),
            waits(),
            1,
        )


async def test_the_limit_keeps_the_newest_orders(stack: Stack) -> None:
    older, newer = await place(stack), await place(stack)
    latest: list[OrderId] = []

    async def place_another() -> None:
        latest.append(await place(stack))

    shown: Shown = []
    one_account = WatchFilter(account_id=AccountId(ACCOUNT), limit=2)
    await watch_orders(
        stack.services, stack.trader, one_account, recorder(shown), waits(place_another), 1
    )
    assert list(shown[0]) == [newer, older]
    assert list(shown[1]) == [latest[0], newer]
