"""The repository contract, orders: the fake and SQL agree on keys, events, writes and lists.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from order_service.domain.account import AccountScope
from order_service.domain.events import OrderEvent
from order_service.domain.ids import AccountId, BrokerOrderId, ClientOrderId, OrderId, StrategyId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.domain.values import OrderType, Validity
from order_service.errors import Conflict, DuplicateClientOrderId, StaleWrite
from order_service.services.ports import OrderQuery
from tests.integration.db.conftest import Seed, build_order
from tests.integration.db.contract import (
    AT,
    UowFactory,
    add_orders,
    event_log,
    get_order,
    read,
    scrambled,
    write,
)

BROKER_ORDER_ID = BrokerOrderId("250105000000001")

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("seed")]


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


# Orders: keys, events, optimistic writes


async def test_an_order_comes_back_equal_by_each_of_its_keys(
    uow_factory: UowFactory, seed: Seed
) -> None:
    order = build_order(
        order_type=OrderType.SL,
        price=Decimal("123456789012.12345678"),
        trigger_price=Decimal("0.00000001"),
        validity=Validity.TTL,
        validity_ttl=5,
        disclosed_quantity=3,
        market_protection=Decimal("2.5"),
        request_tag="mine",
        request_strategy_id=seed.momentum_a,
        strategy_id=seed.momentum_a,
        status=OrderStatus.OPEN,
        broker_order_id=BROKER_ORDER_ID,
        broker_status="OPEN",
        status_message="placed",
        exchange_order_id="1100000000000001",
        filled_quantity=4,
        average_price=Decimal("1520.05"),
        modification_count=2,
        updated_at=AT,
    )
    await add_orders(uow_factory, order)

    async with uow_factory() as uow:
        assert await uow.orders.get(order.order_id) == order
        key = order.client_order_id
        assert await uow.orders.get_by_client_order_id(seed.account_a, key) == order
        assert await uow.orders.get_by_broker_order_id(seed.account_a, BROKER_ORDER_ID) == order
        assert await uow.orders.get_by_tag(order.tag) == order
        assert await uow.orders.get_by_client_order_id(seed.account_b, key) is None
        assert await uow.orders.get_by_broker_order_id(seed.account_b, BROKER_ORDER_ID) is None
        assert await uow.orders.get(OrderId("01J00000000000000000000000")) is None
        assert await uow.orders.get_by_tag("NOSUCHTAG") is None
        assert await uow.orders.events(OrderId("01J00000000000000000000000")) == []


async def test_a_read_order_is_a_copy(uow_factory: UowFactory) -> None:
    order = build_order()
    await add_orders(uow_factory, order)

    (await get_order(uow_factory, order.order_id)).move(OrderTrigger.SUBMIT, AT)

    assert await get_order(uow_factory, order.order_id) == order


async def test_add_takes_the_pending_events_and_stores_them_in_sequence(
    uow_factory: UowFactory,
) -> None:
    order = build_order()
    data = {"price": Decimal("1.50"), "at": AT}
    order.pending_events.append(OrderEvent.requested(order.order_id, order.created_at, data))
    order.move(OrderTrigger.SUBMIT, AT)

    async with uow_factory() as uow:
        await uow.orders.add(order)
        assert order.pending_events == []  # taken by the write, not by the commit
        await uow.commit()

    requested, submitted = await event_log(uow_factory, order.order_id)
    assert requested == OrderEvent(
        order.order_id, "OrderRequested", order.created_at, None, OrderStatus.NEW,
        {"price": "1.50", "at": AT.isoformat()}, requested.sequence,
    )  # fmt: skip
    assert (submitted.name, submitted.status_after) == ("OrderSubmitted", OrderStatus.SUBMITTING)
    assert requested.sequence is not None
    assert submitted.sequence is not None
    assert requested.sequence < submitted.sequence


async def test_save_bumps_the_version_at_the_write_and_appends_events(
    uow_factory: UowFactory,
) -> None:
    order = build_order()
    await add_orders(uow_factory, order)
    order.move(OrderTrigger.SUBMIT, AT)
    order.accept(BrokerOrderId("B1"), AT + timedelta(seconds=1))

    async with uow_factory() as uow:
        await uow.orders.save(order)
        assert (order.version, order.pending_events) == (1, [])
        order.move(OrderTrigger.REQUEST_CANCEL, AT + timedelta(seconds=2))
        await uow.orders.save(order)  # a second write in the same unit of work
        await uow.commit()

    assert order.version == 2
    assert await get_order(uow_factory, order.order_id) == order
    events = await event_log(uow_factory, order.order_id)
    names = ["OrderSubmitted", "OrderAccepted", "OrderCancelRequested"]
    assert [event.name for event in events] == names
    sequences = [event.sequence or 0 for event in events]
    assert sequences == sorted(set(sequences))


async def test_a_stale_copy_is_refused_and_changes_nothing(uow_factory: UowFactory) -> None:
    order = build_order()
    await add_orders(uow_factory, order)
    stale = await get_order(uow_factory, order.order_id)
    order.move(OrderTrigger.SUBMIT, AT)
    await write(uow_factory, lambda uow: uow.orders.save(order))
    stale.move(OrderTrigger.DENY, AT)

    with pytest.raises(StaleWrite):
        await write(uow_factory, lambda uow: uow.orders.save(stale))

    assert (await get_order(uow_factory, order.order_id)).status is OrderStatus.SUBMITTING
    assert [e.name for e in await event_log(uow_factory, order.order_id)] == ["OrderSubmitted"]


async def test_saving_an_order_never_added_is_a_stale_write(uow_factory: UowFactory) -> None:
    with pytest.raises(StaleWrite):
        await write(uow_factory, lambda uow: uow.orders.save(build_order()))


async def test_of_two_writers_of_one_version_only_one_commits(uow_factory: UowFactory) -> None:
    order = build_order()
    await add_orders(uow_factory, order)
    copies = [await get_order(uow_factory, order.order_id) for _ in range(2)]
    copies[0].move(OrderTrigger.SUBMIT, AT)
    copies[1].move(OrderTrigger.DENY, AT)

    async def save(copy: Order) -> bool:
        async with uow_factory() as uow:
            try:
                await uow.orders.save(copy)
                await asyncio.sleep(0)  # let the other writer in before this one commits
                await uow.commit()
            except StaleWrite:
                return False
        return True

    outcomes = await asyncio.gather(*(save(copy) for copy in copies))

    assert sorted(outcomes) == [False, True]
    winner = copies[outcomes.index(True)]
    stored = await get_order(uow_factory, order.order_id)
    assert (stored.status, stored.version) == (winner.status, 1)
    assert len(await event_log(uow_factory, order.order_id)) == 1


async def test_a_client_order_id_is_taken_once_per_account_even_by_racing_writers(
    uow_factory: UowFactory, seed: Seed
) -> None:
    key = ClientOrderId("retried-key")

    async def place() -> bool:
        async with uow_factory() as uow:
            try:
                await uow.orders.add(build_order(client_order_id=key))
                await asyncio.sleep(0)  # let the other writers in before this one commits
                await uow.commit()
            except DuplicateClientOrderId:
                return False
        return True

    outcomes = await asyncio.gather(*(place() for _ in range(4)))
    await add_orders(uow_factory, build_order(client_order_id=key, account_id=seed.account_b))

    assert sorted(outcomes) == [False, False, False, True]
    with pytest.raises(DuplicateClientOrderId):
        await add_orders(uow_factory, build_order(client_order_id=key))


async def test_a_repeated_tag_is_a_conflict_not_a_duplicate_key(uow_factory: UowFactory) -> None:
    first = build_order()
    await add_orders(uow_factory, first)

    with pytest.raises(Conflict):
        await add_orders(uow_factory, build_order(tag=first.tag))


async def test_an_order_needs_a_known_account_and_strategy(uow_factory: UowFactory) -> None:
    with pytest.raises(Conflict):
        await add_orders(uow_factory, build_order(account_id=AccountId("ZZ0000")))
    with pytest.raises(Conflict):
        await add_orders(uow_factory, build_order(strategy_id=StrategyId("NOSUCH")))

    assert await read(uow_factory, lambda uow: uow.orders.accounts_with_unsettled()) == []


# Orders: lists


async def _list(uow_factory: UowFactory, scope: AccountScope, **filters: Any) -> list[Order]:
    orders: list[Order] = await read(
        uow_factory, lambda uow: uow.orders.list(OrderQuery(scope, **filters))
    )
    return orders


async def test_pages_run_newest_first_and_continue_after_the_last_id(
    uow_factory: UowFactory, seed: Seed
) -> None:
    orders = [build_order() for _ in range(5)]  # order ids grow with creation time
    await add_orders(uow_factory, *scrambled(orders))
    newest_first = [order.order_id for order in reversed(orders)]

    pages, after = [], None
    for _ in range(4):
        scope = AccountScope(frozenset({seed.account_a}))
        page = await _list(uow_factory, scope, after=after, limit=2)
        pages.append([order.order_id for order in page])
        after = page[-1].order_id if page else None

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5], []]


@pytest.mark.parametrize(
    ("scope", "filters", "expected"),
    [
        (None, {}, ["b1", "a2", "a1"]),
        ({"A"}, {}, ["a2", "a1"]),
        (set(), {}, []),
        ({"A", "B"}, {"account_id": "B"}, ["b1"]),
        ({"A"}, {"account_id": "B"}, []),  # a filter never widens the scope
        (None, {"status": OrderStatus.OPEN}, ["b1", "a2"]),
        (None, {"strategy_id": "momentum_a"}, ["a2"]),
        (None, {"account_id": "A", "status": OrderStatus.NEW}, ["a1"]),
    ],
)
async def test_each_filter_narrows_the_list(
    uow_factory: UowFactory,
    seed: Seed,
    scope: set[str] | None,
    filters: dict[str, Any],
    expected: list[str],
) -> None:
    accounts = {"A": seed.account_a, "B": seed.account_b}
    named = {
        "a1": build_order(),
        "a2": build_order(strategy_id=seed.momentum_a, status=OrderStatus.OPEN),
        "b1": build_order(account_id=seed.account_b, status=OrderStatus.OPEN),
    }
    await add_orders(uow_factory, named["a2"], named["b1"], named["a1"])
    resolved = dict(filters)
    if "account_id" in resolved:
        resolved["account_id"] = accounts[resolved["account_id"]]
    if "strategy_id" in resolved:
        resolved["strategy_id"] = seed.momentum_a
    ids = None if scope is None else frozenset(accounts[name] for name in scope)

    found = await _list(uow_factory, AccountScope(ids), **resolved)

    names = {order.order_id: name for name, order in named.items()}
    assert [names[order.order_id] for order in found] == expected


async def test_unsettled_orders_are_the_accounts_non_terminal_ones_by_id(
    uow_factory: UowFactory, seed: Seed
) -> None:
    orders = [build_order(status=status) for status in OrderStatus]
    await add_orders(uow_factory, *scrambled(orders))
    await add_orders(uow_factory, build_order(account_id=seed.account_b, status=OrderStatus.OPEN))

    unsettled: list[Order] = await read(
        uow_factory, lambda uow: uow.orders.list_unsettled(seed.account_a)
    )

    expected = [order.order_id for order in orders if not order.is_terminal]
    assert [order.order_id for order in unsettled] == expected


async def test_accounts_with_unsettled_orders_are_listed_once_by_id(
    uow_factory: UowFactory, seed: Seed
) -> None:
    assert await read(uow_factory, lambda uow: uow.orders.accounts_with_unsettled()) == []
    await add_orders(
        uow_factory,
        build_order(account_id=seed.account_b, status=OrderStatus.UNKNOWN),
        build_order(status=OrderStatus.OPEN),
        build_order(status=OrderStatus.SUBMITTING),
        build_order(status=OrderStatus.COMPLETE),
    )

    found = await read(uow_factory, lambda uow: uow.orders.accounts_with_unsettled())

    assert found == [seed.account_a, seed.account_b]


async def test_orders_are_found_by_the_exact_beginning_of_their_key(
    uow_factory: UowFactory, seed: Seed
) -> None:
    keys = ["close:1:k:abc:INFY", "close:1:k:def:SBIN", "close:1:K:abc:INFY", "close:3:k:2:x",
            "close:1:k_x", "Xclose:1:k:"]  # fmt: skip
    orders = [build_order(client_order_id=ClientOrderId(key)) for key in keys]
    other_account = build_order(
        account_id=seed.account_b, client_order_id=ClientOrderId("close:1:k:abc:INFY")
    )
    await add_orders(uow_factory, *orders, other_account)

    async with uow_factory() as uow:
        found = await uow.orders.with_key_prefix(seed.account_a, "close:1:k:", 10)
        first = await uow.orders.with_key_prefix(seed.account_a, "close:1:k:", 1)
        none = await uow.orders.with_key_prefix(seed.account_a, "close:1:k%", 10)

    assert [o.client_order_id for o in found] == ["close:1:k:abc:INFY", "close:1:k:def:SBIN"]
    assert [o.order_id for o in first] == [orders[0].order_id]
    assert none == []  # a LIKE wildcard is a character like any other
