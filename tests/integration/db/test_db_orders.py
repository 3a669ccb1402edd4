"""Orders: exact round trips, the event log, idempotency keys and optimistic writes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.tables import orders
from order_service.adapters.db.unit_of_work import SqlUnitOfWork
from order_service.domain.events import OrderEvent
from order_service.domain.ids import BrokerOrderId, ClientOrderId, OrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.domain.values import OrderType, Validity, Variety
from order_service.errors import Conflict, DuplicateClientOrderId, StaleWrite

if TYPE_CHECKING:
    from conftest import Seed

UowFactory = Callable[[], SqlUnitOfWork]
MakeOrder = Callable[..., Order]
Store = Callable[..., Awaitable[None]]
LATER = datetime(2026, 1, 5, 9, 16, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("seed")


async def _get(uow_factory: UowFactory, order_id: OrderId) -> Order | None:
    async with uow_factory() as uow:
        return await uow.orders.get(order_id)


async def _events(uow_factory: UowFactory, order_id: OrderId) -> list[OrderEvent]:
    async with uow_factory() as uow:
        return await uow.orders.events(order_id)


async def _save(uow_factory: UowFactory, order: Order) -> None:
    async with uow_factory() as uow:
        await uow.orders.save(order)
        await uow.commit()


@pytest.mark.asyncio
async def test_an_order_with_every_field_set_comes_back_equal(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store, seed: Seed
) -> None:
    order = make_order(
        variety=Variety.AUCTION,
        auction_number="22",
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
        broker_order_id=BrokerOrderId("250105000000001"),
        broker_status="OPEN",
        status_message="placed",
        exchange_order_id="1100000000000001",
        filled_quantity=4,
        average_price=Decimal("1520.05"),
        modification_count=2,
        updated_at=LATER,
    )

    await store(order)

    assert await _get(uow_factory, order.order_id) == order


@pytest.mark.asyncio
async def test_add_stores_the_pending_events_and_clears_them(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store
) -> None:
    order = make_order()
    requested = OrderEvent.requested(order.order_id, order.created_at, {"price": Decimal("1.50")})
    order.pending_events.append(requested)

    await store(order)

    assert order.pending_events == []
    [stored] = await _events(uow_factory, order.order_id)
    assert stored.sequence is not None
    assert stored == OrderEvent(
        order.order_id, "OrderRequested", order.created_at, None, OrderStatus.NEW,
        {"price": "1.50"}, stored.sequence,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_save_bumps_the_version_and_appends_events_in_sequence(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store
) -> None:
    order = make_order()
    await store(order)
    order.move(OrderTrigger.SUBMIT, LATER)
    order.accept(BrokerOrderId("B1"), LATER + timedelta(seconds=1))
    await _save(uow_factory, order)
    order.move(OrderTrigger.REQUEST_CANCEL, LATER + timedelta(seconds=2))
    await _save(uow_factory, order)

    assert order.version == 2
    assert order.pending_events == []
    assert await _get(uow_factory, order.order_id) == order
    events = await _events(uow_factory, order.order_id)
    assert [event.name for event in events] == [
        "OrderSubmitted",
        "OrderAccepted",
        "OrderCancelRequested",
    ]
    sequences = [event.sequence or 0 for event in events]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 3


@pytest.mark.asyncio
async def test_a_stale_copy_cannot_overwrite_a_newer_row(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store
) -> None:
    order = make_order()
    await store(order)
    stale = await _get(uow_factory, order.order_id)
    assert stale is not None
    order.move(OrderTrigger.SUBMIT, LATER)
    await _save(uow_factory, order)
    stale.move(OrderTrigger.DENY, LATER)

    with pytest.raises(StaleWrite):
        await _save(uow_factory, stale)

    stored = await _get(uow_factory, order.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.SUBMITTING
    assert [event.name for event in await _events(uow_factory, order.order_id)] == [
        "OrderSubmitted"
    ]


@pytest.mark.asyncio
async def test_saving_an_order_never_added_is_a_stale_write(
    uow_factory: UowFactory, make_order: MakeOrder
) -> None:
    with pytest.raises(StaleWrite):
        await _save(uow_factory, make_order())


@pytest.mark.asyncio
async def test_a_repeated_client_order_id_is_refused_by_add(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store
) -> None:
    key = ClientOrderId("my-key-1")
    await store(make_order(client_order_id=key))

    async with uow_factory() as uow:

        async def add_and_commit() -> None:
            await uow.orders.add(make_order(client_order_id=key))
            await uow.commit()

        with pytest.raises(DuplicateClientOrderId):  # by the commit at the latest
            await add_and_commit()


@pytest.mark.asyncio
async def test_the_same_client_order_id_in_another_account_is_fine(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store, seed: Seed
) -> None:
    key = ClientOrderId("my-key-1")
    first = make_order(client_order_id=key)
    second = make_order(client_order_id=key, account_id=seed.account_b)

    await store(first, second)

    async with uow_factory() as uow:
        assert await uow.orders.get_by_client_order_id(seed.account_a, key) == first
        assert await uow.orders.get_by_client_order_id(seed.account_b, key) == second
        assert await uow.orders.get_by_client_order_id(seed.account_a, ClientOrderId("x")) is None


@pytest.mark.asyncio
async def test_concurrent_placements_with_one_key_store_exactly_one_order(
    uow_factory: UowFactory, make_order: MakeOrder
) -> None:
    key = ClientOrderId("retried-key")

    async def place() -> bool:
        async with uow_factory() as uow:
            try:
                await uow.orders.add(make_order(client_order_id=key))
                await uow.commit()
            except DuplicateClientOrderId:
                return False
        return True

    outcomes = await asyncio.gather(*(place() for _ in range(8)))

    assert sorted(outcomes) == [False] * 7 + [True]


@pytest.mark.asyncio
async def test_a_repeated_tag_is_a_conflict_not_a_duplicate_key(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store
) -> None:
    first = make_order()
    await store(first)

    async with uow_factory() as uow:

        async def add_and_commit() -> None:
            await uow.orders.add(make_order(tag=first.tag))
            await uow.commit()

        with pytest.raises(Conflict):
            await add_and_commit()


@pytest.mark.asyncio
async def test_an_unknown_order_is_none_and_has_no_events(uow_factory: UowFactory) -> None:
    assert await _get(uow_factory, OrderId("01J00000000000000000000000")) is None
    assert await _events(uow_factory, OrderId("01J00000000000000000000000")) == []


@pytest.mark.asyncio
async def test_a_stored_order_that_todays_rules_refuse_is_still_readable(
    uow_factory: UowFactory, make_order: MakeOrder, store: Store, engine: AsyncEngine
) -> None:
    order = make_order()
    await store(order)
    async with engine.begin() as connection:  # as if a later release tightened the rules
        await connection.execute(
            update(orders).where(orders.c.order_id == order.order_id).values(quantity=0)
        )

    found = await _get(uow_factory, order.order_id)

    assert found is not None
    assert found.request.quantity == 0
